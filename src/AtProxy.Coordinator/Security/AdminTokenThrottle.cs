using System.Net;
using System.Threading.RateLimiting;

namespace AtProxy.Coordinator.Security;

/// <summary>
/// Slows down guessing of the admin token over the admin endpoint: after <see cref="MaxFailures"/>
/// wrong tokens from one address within <see cref="Window"/>, that address's token checks are refused
/// (HTTP 429 with <c>Retry-After</c>) until the window ends, a right token included, so a guess that
/// happens to be right teaches nothing. An operator already signed in keeps the console: the cookie
/// is not a token check.
/// </summary>
internal sealed class AdminTokenThrottle : IDisposable
{
    /// <summary>Wrong tokens one address may present per <see cref="Window"/>.</summary>
    public const int MaxFailures = 10;

    /// <summary>How long failures count against an address.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<string> _failures = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = MaxFailures,
            Window = Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>When <paramref name="address"/> may not present a token now: how long until it may; otherwise null.</summary>
    public TimeSpan? RefusedFor(IPAddress? address)
    {
        // Zero permits asks without taking any.
        using var lease = _failures.AttemptAcquire(KeyOf(address), permitCount: 0);
        if (lease.IsAcquired)
        {
            return null;
        }
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : Window;
    }

    /// <summary>Counts a wrong token presented from <paramref name="address"/>.</summary>
    public void Failed(IPAddress? address)
    {
        using var _ = _failures.AttemptAcquire(KeyOf(address));
    }

    public void Dispose() => _failures.Dispose();

    private static string KeyOf(IPAddress? address) => address?.ToString() ?? "?";
}
