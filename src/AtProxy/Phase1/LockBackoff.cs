using AtProxy.Coordination;
using AtProxy.Protocol.V1;

namespace AtProxy.Phase1;

/// <summary>
/// The wait between two attempts to take global locks that another global transaction holds. The
/// coordinator is asked to answer as soon as the conflicting row is released, or when the wait is
/// up (<see cref="AtProxyOptions.LockRetryInterval"/>, doubling up to
/// <see cref="AtProxyOptions.LockRetryMaxInterval"/>): a waiter retries the moment the row is free
/// instead of sleeping past the release, which is what limits throughput on hot rows.
/// </summary>
internal sealed class LockBackoff(CoordinatorClient coordinator, AtProxyOptions options, string resourceId, string? xid)
{
    private TimeSpan _wait = options.LockRetryInterval;

    /// <summary>How long the next wait is.</summary>
    public TimeSpan Next => _wait;

    /// <summary>Counts a wait the coordinator did in the call itself (a registration with <c>wait_ms</c>): the next one is longer.</summary>
    public void Waited() => _wait = TimeSpan.FromMilliseconds(Math.Min(_wait.TotalMilliseconds * 2, options.LockRetryMaxInterval.TotalMilliseconds));

    public async Task WaitAsync(LockConflict? conflict, CancellationToken cancellationToken)
    {
        if (conflict?.Key is { } key)
        {
            var request = new CheckLocksRequest
            {
                Xid = xid ?? "",
                ResourceId = string.IsNullOrEmpty(conflict.ResourceId) ? resourceId : conflict.ResourceId,
                WaitMs = (uint)Math.Ceiling(_wait.TotalMilliseconds),
            };
            request.LockKeys.Add(key);
            await coordinator.CheckLocksAsync(request, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Task.Delay(_wait, cancellationToken).ConfigureAwait(false);
        }
        Waited();
    }
}
