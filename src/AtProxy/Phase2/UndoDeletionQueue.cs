using System.Threading.Channels;
using AtProxy.Resources;
using Microsoft.Extensions.Logging;

namespace AtProxy.Phase2;

/// <summary>
/// Phase-2 commit is acknowledged at once; the committed branches' undo rows are deleted here in
/// the background, many per statement. A failed batch is retried after a pause: the rows are only
/// garbage by then, so nothing waits for them.
/// </summary>
internal sealed class UndoDeletionQueue : IAsyncDisposable
{
    private readonly Channel<(Resource Resource, string Xid, long BranchId)> _queue =
        Channel.CreateUnbounded<(Resource, string, long)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _batchSize;
    private readonly ILogger _logger;
    private readonly Task _worker;
    private int _pending;

    private readonly bool _retainCommitted;

    /// <param name="batchSize">Committed branches per statement.</param>
    /// <param name="logger">Where failed batches are reported.</param>
    /// <param name="retainCommitted">Marks the rows committed (an audit trail the purge deletes later) instead of deleting them.</param>
    public UndoDeletionQueue(int batchSize, ILogger logger, bool retainCommitted = false)
    {
        _retainCommitted = retainCommitted;
        _batchSize = Math.Max(1, batchSize);
        _logger = logger;
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Branches queued and not yet deleted (for tests and diagnostics).</summary>
    public int Pending => Volatile.Read(ref _pending);

    public void Enqueue(Resource resource, string xid, long branchId)
    {
        Interlocked.Increment(ref _pending);
        _queue.Writer.TryWrite((resource, xid, branchId));
    }

    private async Task RunAsync()
    {
        var batch = new List<(Resource Resource, string Xid, long BranchId)>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _batchSize && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }
            foreach (var group in batch.GroupBy(b => b.Resource))
            {
                var branches = group.Select(b => (b.Xid, b.BranchId)).ToList();
                try
                {
                    await group.Key.EnsureUndoLogAsync(CancellationToken.None);
                    await using var connection = await group.Key.OpenConnectionAsync(CancellationToken.None);
                    await (_retainCommitted
                        ? group.Key.UndoLog.MarkCommittedManyAsync(connection, branches, CancellationToken.None)
                        : group.Key.UndoLog.DeleteManyAsync(connection, branches, CancellationToken.None));
                    Interlocked.Add(ref _pending, -branches.Count);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogWarning(ex, "Deleting {Count} committed undo rows on {Resource} failed; retrying shortly", branches.Count, group.Key.Id);
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    foreach (var (xid, branchId) in branches)
                    {
                        _queue.Writer.TryWrite((group.Key, xid, branchId));
                    }
                }
            }
            batch.Clear();
        }
    }

    /// <summary>Waits until everything queued so far is deleted (or the timeout passes).</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Pending > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(TimeSpan.FromSeconds(5));
        _queue.Writer.TryComplete();
        await _worker;
    }
}
