using AtProxy.Coordination;
using AtProxy.Resources;
using Microsoft.Extensions.Logging;

namespace AtProxy.Phase2;

/// <summary>
/// What a disposal waits for before it lets go of a database: the phase-2 commands of this
/// process's branches whose global transaction is decided, then the deletion of the committed
/// branches' undo rows. Bounded by one timeout; undecided transactions are not waited for (their
/// phase 2 waits at the coordinator for the next process that serves the resource).
/// </summary>
internal sealed class PhaseTwoSettling(OutstandingBranches outstanding, UndoDeletionQueue deletes, CoordinatorClient coordinator, ILogger logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Settles the phase 2 of <paramref name="resource"/> (of every resource, for null) within
    /// <paramref name="timeout"/>. <paramref name="closing"/> runs once the decided branches' commands
    /// arrived (they only arrive while the resource is subscribed) and before the undo rows are drained.
    /// </summary>
    public async Task SettleAsync(Resource? resource, TimeSpan timeout, Action? closing = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var awaited = await DecidedAsync(outstanding.Of(resource), deadline).ConfigureAwait(false);
        while (awaited.Exists(b => outstanding.Contains(b.Xid, b.BranchId)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
        closing?.Invoke();
        var left = Max(deadline - DateTime.UtcNow, TimeSpan.Zero);
        if (resource is null)
        {
            await deletes.DrainAsync(left).ConfigureAwait(false);
        }
        else
        {
            await deletes.DrainAsync(resource, left).ConfigureAwait(false);
        }
    }

    // The branches whose transaction is decided and not yet ended: their command is on its way.
    private async Task<List<(string Xid, long BranchId)>> DecidedAsync(List<(string Xid, long BranchId)> branches, DateTime deadline)
    {
        var decided = new List<(string Xid, long BranchId)>();
        foreach (var xid in branches.Select(b => b.Xid).Distinct(StringComparer.Ordinal))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                break;
            }
            try
            {
                using var timeout = new CancellationTokenSource(left);
                var status = await coordinator.GetStatusAsync(xid, timeout.Token).ConfigureAwait(false);
                if (IsPhaseTwoUnderWay(status))
                {
                    decided.AddRange(branches.Where(b => b.Xid == xid));
                }
            }
            catch (Exception ex) when (ex is AtProxyException or OperationCanceledException)
            {
                logger.LogDebug(ex, "Could not read the status of {Xid} while releasing a data source; not waiting for its phase 2", xid);
            }
        }
        return decided;
    }

    private static bool IsPhaseTwoUnderWay(GlobalTransactionStatus status) => status is
        GlobalTransactionStatus.Committing or GlobalTransactionStatus.CommitRetrying or GlobalTransactionStatus.AsyncCommitting or
        GlobalTransactionStatus.Rollbacking or GlobalTransactionStatus.RollbackRetrying or
        GlobalTransactionStatus.TimeoutRollbacking or GlobalTransactionStatus.TimeoutRollbackRetrying;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
