using System.Collections.Concurrent;
using AtProxy.Diagnostics;
using AtProxy.Resources;
using Microsoft.Extensions.Logging;

namespace AtProxy.Phase2;

/// <summary>
/// The committed branches of one resource whose undo rows are still to be deleted, and the worker
/// that deletes them. Each resource has its own worker and its own back-off, so a resource whose
/// database is down (or whose data source is gone) never holds up the deletes of another.
/// </summary>
internal sealed class ResourceUndoDeletes(Resource resource)
{
    internal static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<(string Xid, long BranchId)> _queue = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private int _pending;
    private int _running;

    public Resource Resource { get; } = resource;

    /// <summary>Branches queued and not yet deleted or dropped.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Queues a branch; true when the caller must start the worker (none is running).</summary>
    public bool Add(string xid, long branchId)
    {
        Interlocked.Increment(ref _pending);
        _queue.Enqueue((xid, branchId));
        return Interlocked.CompareExchange(ref _running, 1, 0) == 0;
    }

    /// <summary>Ends a back-off wait early, so a waiting batch is tried again now.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    /// <summary>
    /// Deletes queued rows in batches until the queue is empty; a failed batch is retried with
    /// back-off; rows of a resource no data source wraps any more are dropped.
    /// <paramref name="settled"/> is told how many branches left the queue.
    /// </summary>
    public async Task RunAsync(int batchSize, bool retainCommitted, ILogger logger, Action<int> settled, CancellationToken stopping)
    {
        var batch = new List<(string Xid, long BranchId)>(batchSize);
        var delay = FirstRetryDelay;
        while (!stopping.IsCancellationRequested)
        {
            while (batch.Count < batchSize && _queue.TryDequeue(out var item))
            {
                batch.Add(item);
            }
            if (batch.Count == 0)
            {
                Volatile.Write(ref _running, 0);
                // A branch queued after the last TryDequeue saw no running worker only if it won this race.
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
                {
                    return;
                }
                continue;
            }
            if (!Resource.HasConnectionFactory)
            {
                UndoDeletionLog.Dropped(logger, batch.Count, Resource.Id);
                Settle(batch, settled);
                continue;
            }
            try
            {
                await Resource.EnsureUndoLogAsync(stopping).ConfigureAwait(false);
                CrashPoints.Reach(CrashPoints.BeforeUndoDelete);
                var connection = await Resource.OpenConnectionAsync(stopping).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    // With audit retention the rows stay, marked committed, for the purge to delete later.
                    await ((retainCommitted
                        ? Resource.UndoLog.MarkCommittedManyAsync(connection, batch, stopping)
                        : Resource.UndoLog.DeleteManyAsync(connection, batch, stopping)).ConfigureAwait(false));
                }
                Settle(batch, settled);
                delay = FirstRetryDelay;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                UndoDeletionLog.DeleteFailed(logger, ex, batch.Count, Resource.Id, delay);
                try
                {
                    await _wake.WaitAsync(delay, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private void Settle(List<(string Xid, long BranchId)> batch, Action<int> settled)
    {
        Interlocked.Add(ref _pending, -batch.Count);
        settled(batch.Count);
        batch.Clear();
    }
}
