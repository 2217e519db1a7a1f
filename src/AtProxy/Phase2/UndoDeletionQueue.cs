using System.Collections.Concurrent;
using AtProxy.Diagnostics;
using AtProxy.Resources;
using Microsoft.Extensions.Logging;

namespace AtProxy.Phase2;

/// <summary>
/// Phase-2 commit is acknowledged at once; the committed branches' undo rows are deleted here in
/// the background, many per statement, by one worker per resource with work queued
/// (<see cref="ResourceUndoDeletes"/>): a resource that fails is retried with back-off on its own,
/// and never delays the deletes of the others.
/// </summary>
internal sealed class UndoDeletionQueue : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    private readonly ConcurrentDictionary<Resource, ResourceUndoDeletes> _byResource = new();
    private readonly ConcurrentDictionary<Task, byte> _workers = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _batchSize;
    private readonly TimeSpan _drainTimeout;
    private readonly ILogger _logger;
    private int _pending;

    private readonly bool _retainCommitted;

    /// <param name="batchSize">Committed branches per statement.</param>
    /// <param name="drainTimeout">How long disposal waits for the queue to empty.</param>
    /// <param name="logger">Where failed batches are reported.</param>
    /// <param name="retainCommitted">Marks the rows committed (an audit trail the purge deletes later) instead of deleting them.</param>
    public UndoDeletionQueue(int batchSize, TimeSpan drainTimeout, ILogger logger, bool retainCommitted = false)
    {
        _retainCommitted = retainCommitted;
        _batchSize = Math.Max(1, batchSize);
        _drainTimeout = drainTimeout;
        _logger = logger;
    }

    /// <summary>Branches queued and not yet deleted, over every resource (for tests and diagnostics).</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Branches of <paramref name="resource"/> queued and not yet deleted.</summary>
    public int PendingFor(Resource resource) => _byResource.TryGetValue(resource, out var deletes) ? deletes.Pending : 0;

    public void Enqueue(Resource resource, string xid, long branchId)
    {
        var deletes = _byResource.GetOrAdd(resource, r => new ResourceUndoDeletes(r));
        Interlocked.Increment(ref _pending);
        if (deletes.Add(xid, branchId))
        {
            StartWorker(deletes);
        }
    }

    private void StartWorker(ResourceUndoDeletes deletes)
    {
        var worker = Task.Run(() => deletes.RunAsync(_batchSize, _retainCommitted, _logger, settled => Interlocked.Add(ref _pending, -settled), _stopping.Token));
        _workers[worker] = 0;
        _ = worker.ContinueWith(done => _workers.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Waits until everything queued so far is deleted (or the timeout passes).</summary>
    public Task DrainAsync(TimeSpan timeout) => WaitAsync(() => Pending, () => _byResource.Values, timeout);

    /// <summary>
    /// Waits until every queued delete of <paramref name="resource"/> is done (or the timeout
    /// passes); a batch waiting out a back-off is tried again at once. True when none is left.
    /// </summary>
    public async Task<bool> DrainAsync(Resource resource, TimeSpan timeout)
    {
        if (!_byResource.TryGetValue(resource, out var deletes))
        {
            return true;
        }
        var drained = await WaitAsync(() => deletes.Pending, () => [deletes], timeout).ConfigureAwait(false);
        if (!drained)
        {
            UndoDeletionLog.DrainTimedOut(_logger, deletes.Pending, resource.Id, timeout);
        }
        return drained;
    }

    private async Task<bool> WaitAsync(Func<int> pending, Func<IEnumerable<ResourceUndoDeletes>> wake, TimeSpan timeout)
    {
        if (pending() == 0)
        {
            return true;
        }
        foreach (var deletes in wake())
        {
            deletes.Wake();
        }
        var deadline = DateTime.UtcNow + timeout;
        while (pending() > 0)
        {
            if (DateTime.UtcNow >= deadline || _stopping.IsCancellationRequested)
            {
                return false;
            }
            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(_drainTimeout).ConfigureAwait(false);
        _stopping.Cancel();
        await Task.WhenAll(_workers.Keys).ConfigureAwait(false);
    }
}
