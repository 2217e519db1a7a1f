using System.Collections.Concurrent;
using System.Data.Common;
using AtProxy.Coordination;
using AtProxy.Resources;
using AtProxy.Transactions;
using AtProxy.Undo;
using Microsoft.Extensions.Logging;

namespace AtProxy.Phase2;

/// <summary>
/// Deletes, in the background, the undo rows of finished transactions from every resource this
/// process wrapped: global-finished markers and orphaned undo rows older than
/// <see cref="AtProxyOptions.UndoLogRetention"/> once the coordinator says their transaction ended
/// (or no longer knows it), and committed rows kept for audit once
/// <see cref="AtProxyOptions.CommittedUndoRetention"/> has passed. A pass runs every
/// <see cref="AtProxyOptions.UndoPurgeInterval"/> (jittered), in batches of
/// <see cref="AtProxyOptions.UndoPurgeBatchSize"/>: one select, one status call and one delete each.
/// </summary>
internal sealed class UndoLogPurger : IAsyncDisposable
{
    /// <summary>The most batches one pass runs per resource; the next pass continues where it stopped.</summary>
    public const int MaxBatchesPerPass = 20;

    private readonly ResourceRegistry _resources;
    private readonly CoordinatorClient _coordinator;
    private readonly AtProxyOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, UndoPurgeCandidate> _cursors = new(StringComparer.Ordinal);
    private readonly Task _worker;
    private long _passes;
    private long _purged;

    public UndoLogPurger(ResourceRegistry resources, CoordinatorClient coordinator, AtProxyOptions options, ILogger logger)
    {
        _resources = resources;
        _coordinator = coordinator;
        _options = options;
        _logger = logger;
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Passes completed over every resource (for tests and diagnostics).</summary>
    public long CompletedPasses => Interlocked.Read(ref _passes);

    /// <summary>Undo rows deleted so far (for tests and diagnostics).</summary>
    public long PurgedRows => Interlocked.Read(ref _purged);

    private async Task RunAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Jittered(_options.UndoPurgeInterval), _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            foreach (var id in _resources.Ids)
            {
                if (_resources.Find(id) is { } resource)
                {
                    await PurgeResourceAsync(resource, _stopping.Token).ConfigureAwait(false);
                }
            }
            Interlocked.Increment(ref _passes);
        }
    }

    // ±20 %, so that the processes serving one database do not all look at the same moment.
    private static TimeSpan Jittered(TimeSpan interval) => interval * (0.8 + (Random.Shared.NextDouble() * 0.4));

    private async Task PurgeResourceAsync(Resource resource, CancellationToken cancellationToken)
    {
        try
        {
            await resource.EnsureUndoLogAsync(cancellationToken).ConfigureAwait(false);
            var connection = await resource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            var batches = await PurgeCommittedAsync(resource, connection, cancellationToken).ConfigureAwait(false);
            await PurgeFinishedAsync(resource, connection, batches, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (CoordinatorUnavailableException ex)
        {
            // Nothing is decided without the coordinator's answer; the next pass asks again.
            _logger.LogDebug(ex, "Undo purge on {Resource} skipped: the coordinator did not answer", resource.Id);
        }
        catch (Exception ex) when (ex is DbException or AtProxyException or TimeoutException or InvalidOperationException)
        {
            _logger.LogWarning(ex, "Undo purge on {Resource} failed; the next pass tries again", resource.Id);
        }
    }

    private async Task<int> PurgeCommittedAsync(Resource resource, DbConnection connection, CancellationToken cancellationToken)
    {
        // With the audit trail off, rows a previous configuration kept are purged after the general retention.
        var age = _options.CommittedUndoRetention > TimeSpan.Zero ? _options.CommittedUndoRetention : _options.UndoLogRetention;
        var batches = 0;
        while (batches < MaxBatchesPerPass)
        {
            batches++;
            var deleted = await resource.UndoLog.DeleteExpiredCommittedAsync(connection, age, _options.UndoPurgeBatchSize, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _purged, deleted);
            if (deleted < _options.UndoPurgeBatchSize)
            {
                break;
            }
        }
        return batches;
    }

    private async Task PurgeFinishedAsync(Resource resource, DbConnection connection, int batches, CancellationToken cancellationToken)
    {
        UndoPurgeCandidate? cursor = _cursors.TryGetValue(resource.Id, out var saved) ? saved : null;
        try
        {
            while (batches++ < MaxBatchesPerPass)
            {
                var candidates = await resource.UndoLog.FindFinishedCandidatesAsync(connection, _options.UndoLogRetention, cursor, _options.UndoPurgeBatchSize, cancellationToken).ConfigureAwait(false);
                // A short batch reached the end: the next one (or the next pass) starts from the oldest row again.
                cursor = candidates.Count < _options.UndoPurgeBatchSize ? null : candidates[^1];
                // A row whose XID is not of the coordinator's form was not written by phase 1: left alone (the coordinator would refuse to look it up).
                var xids = candidates.Select(c => c.Xid).Where(xid => Xid.IsWellFormed(xid)).Distinct(StringComparer.Ordinal).ToList();
                if (xids.Count > 0)
                {
                    var statuses = await _coordinator.GetStatusesAsync(xids, cancellationToken).ConfigureAwait(false);
                    var purge = new List<UndoPurgeCandidate>();
                    foreach (var candidate in candidates)
                    {
                        // An XID missing from the answer decides nothing.
                        if (!statuses.TryGetValue(candidate.Xid, out var status))
                        {
                            continue;
                        }
                        if (UndoPurgeRules.MayPurge(candidate.Status, status))
                        {
                            purge.Add(candidate);
                        }
                        else if (UndoPurgeRules.IsLeftByRollback(candidate.Status, status))
                        {
                            _logger.LogWarning(
                                "Undo row of branch {BranchId} of {Xid} on {Resource} outlived its transaction's rollback ({Status}): its changes may not have been undone; check it with 'atproxy undo show'",
                                candidate.BranchId, candidate.Xid, resource.Id, status);
                        }
                    }
                    if (purge.Count > 0)
                    {
                        var deleted = await resource.UndoLog.DeleteCandidatesAsync(connection, purge, cancellationToken).ConfigureAwait(false);
                        Interlocked.Add(ref _purged, deleted);
                        _logger.LogDebug("Purged {Count} undo rows of finished transactions on {Resource}", deleted, resource.Id);
                    }
                }
                if (cursor is null)
                {
                    break;
                }
            }
        }
        finally
        {
            if (cursor is { } next)
            {
                _cursors[resource.Id] = next;
            }
            else
            {
                _cursors.TryRemove(resource.Id, out _);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _worker.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
