using System.Globalization;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Coordination;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
using AtProxy.Protocol.V1;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Admin;

/// <summary>
/// What a transaction and each of its branches wait for, one sentence each for a person: the
/// application's decision, a resource manager to connect, the next attempt after a refusal, an
/// earlier branch, or a person. Read from the transaction (status, branch statuses and errors,
/// the phase-2 schedule), the resource managers connected to this coordinator and the attempts
/// it made. On a shared store only this coordinator's connections are known, and the sentence says so.
/// </summary>
internal sealed class PhaseTwoWaits(
    ICoordinatorStore store,
    ResourceManagerHub hub,
    PhaseTwoDriver driver,
    BranchFailureCounts failureCounts,
    IOptions<CoordinatorOptions> options)
{
    /// <summary>Fills the waiting fields of <paramref name="info"/> (built from <paramref name="session"/>'s copy).</summary>
    public void Describe(GlobalSession session, GlobalTransactionInfo info, long nowUnixMs)
    {
        var status = info.Status;
        if (status == GlobalStatus.Begin)
        {
            var left = session.DeadlineUnixMs - nowUnixMs;
            info.WaitingFor = left > 0
                ? $"waits for the application to commit or roll back (timeout in {Seconds(left)})"
                : "its timeout passed: the coordinator rolls it back at its next sweep";
            return;
        }
        if (GlobalStatusRules.IsEnded(status))
        {
            return;
        }
        var pending = info.Branches.Where(b => !BranchStatusRules.IsDone(b.Status)).ToList();
        if (pending.Count == 0)
        {
            return;
        }
        var rollback = GlobalStatusRules.IsRollbackDirection(status);
        // Rollback goes newest first: only the newest undone branch is being worked on.
        var current = rollback ? pending[^1] : null;
        foreach (var branch in pending)
        {
            branch.FailedAttempts = failureCounts.Of(info.Xid, branch.BranchId);
            branch.WaitingFor = GlobalStatusRules.IsPhaseTwoInProgress(status)
                ? current is not null && current != branch
                    ? $"waits for branch {current.BranchId} to be rolled back first (newest first)"
                    : InProgress(info.Xid, branch, rollback, session.NextAttemptUnixMs, nowUnixMs)
                : Stopped(status, branch, rollback);
            if (GlobalStatusRules.IsPhaseTwoInProgress(status) && (current is null || current == branch))
            {
                branch.NextAttemptUnixMs = Math.Max(session.NextAttemptUnixMs, 0);
            }
        }
        var first = current ?? pending.FirstOrDefault(b => b.Status != BranchStatus.Registered) ?? pending[0];
        info.WaitingFor = GlobalStatusRules.IsPhaseTwoInProgress(status)
            ? $"phase 2 of branch {first.BranchId} waits: {first.WaitingFor}"
            : $"branch {first.BranchId}: {first.WaitingFor}";
    }

    private string InProgress(string xid, BranchInfo branch, bool rollback, long nextAttemptUnixMs, long nowUnixMs)
    {
        if (!hub.IsConnected(branch.ResourceId))
        {
            return store.IsShared
                ? $"no resource manager for {branch.ResourceId} is connected to this coordinator ({options.Value.NodeId})"
                : $"no resource manager for {branch.ResourceId} is connected";
        }
        if (driver.IsRunning(xid))
        {
            return $"the resource manager for {branch.ResourceId} is {(rollback ? "rolling it back" : "committing it")} now";
        }
        var next = nextAttemptUnixMs > nowUnixMs ? $"next attempt in {Seconds(nextAttemptUnixMs - nowUnixMs)}" : "next attempt due now";
        return branch.LastError.Length > 0
            ? $"resource manager for {branch.ResourceId} refused: {branch.LastError}; {next}"
            : next;
    }

    private static string Stopped(GlobalStatus status, BranchInfo branch, bool rollback)
    {
        if (GlobalStatusRules.IsRetryTimeout(status))
        {
            return "retry timeout reached: a person must retry or forget the branch" + LastError(branch);
        }
        var unretryable = branch.Status is BranchStatus.PhaseTwoRollbackFailedUnretryable or BranchStatus.PhaseTwoCommitFailedUnretryable;
        return unretryable
            ? $"cannot {(rollback ? "roll back" : "commit")}{LastError(branch, ": ")}; a person must repair the data, then retry or forget the branch"
            : "waits for a person to retry, or to forget the branch that stopped phase 2";
    }

    private static string LastError(BranchInfo branch, string lead = "; last error: ") => branch.LastError.Length > 0 ? lead + branch.LastError : "";

    private static string Seconds(long milliseconds) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, (milliseconds + 999) / 1000)} s");
}
