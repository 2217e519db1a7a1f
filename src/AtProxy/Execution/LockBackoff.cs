using AtProxy.Protocol.V1;

namespace AtProxy.Execution;

/// <summary>
/// The wait between two attempts to take global locks that another global transaction holds. The
/// coordinator is asked to answer as soon as the conflicting row is released, or when the wait is
/// up (<see cref="AtProxyOptions.LockRetryInterval"/>, doubling up to
/// <see cref="AtProxyOptions.LockRetryMaxInterval"/>): a waiter retries the moment the row is free
/// instead of sleeping past the release, which is what limits throughput on hot rows.
/// </summary>
internal sealed class LockBackoff(AtProxyClient client, string resourceId, string? xid)
{
    private TimeSpan _wait = client.Options.LockRetryInterval;

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
            await client.Coordinator.CheckLocksAsync(request, cancellationToken);
        }
        else
        {
            await Task.Delay(_wait, cancellationToken);
        }
        _wait = TimeSpan.FromMilliseconds(Math.Min(_wait.TotalMilliseconds * 2, client.Options.LockRetryMaxInterval.TotalMilliseconds));
    }

    /// <inheritdoc cref="WaitAsync(LockConflict?, CancellationToken)"/>
    public Task WaitAsync(GlobalLockConflictException conflict, CancellationToken cancellationToken) =>
        WaitAsync(conflict.Table is null || conflict.PrimaryKey is null
            ? null
            : new LockConflict { ResourceId = resourceId, HolderXid = conflict.HolderXid, Key = new LockKey { Table = conflict.Table, PrimaryKey = conflict.PrimaryKey } },
            cancellationToken);
}
