namespace AtProxy.Load.Measurements;

/// <summary>How long the hot row's lock was held in one run: how many holds were measured and their p50 and p99.</summary>
internal sealed record LockHoldTimes(long Count, double P50Ms, double P99Ms)
{
    /// <summary>The percentiles of <paramref name="milliseconds"/> (sorted here), the same rule as the run's latencies.</summary>
    public static LockHoldTimes Of(List<double> milliseconds)
    {
        milliseconds.Sort();
        return new LockHoldTimes(milliseconds.Count, Percentile.Of(milliseconds, 0.50), Percentile.Of(milliseconds, 0.99));
    }
}
