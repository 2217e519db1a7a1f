using AtProxy.Coordinator.Configuration;

namespace AtProxy.Coordinator.Coordination;

/// <summary>Exponential back-off with a cap and ±20 % jitter, so many stuck transactions do not retry in lockstep.</summary>
internal static class RetryBackoff
{
    public static long DelayMs(CoordinatorOptions options, int failedAttempts)
    {
        var exponent = Math.Clamp(failedAttempts - 1, 0, 30);
        var delay = Math.Min((double)options.RetryMaxDelayMs, options.RetryInitialDelayMs * Math.Pow(2, exponent));
        return (long)(delay * (0.8 + Random.Shared.NextDouble() * 0.4));
    }
}
