using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// Writes the changes of a transaction as durable records through the scope that holds it;
/// when a method returns, the change is applied to the scope's session and will be durable
/// before the scope is released.
/// </summary>
internal sealed class SessionChanges(TimeProvider time, CoordinatorMetrics metrics)
{
    public long NowUnixMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Moves the transaction to <paramref name="to"/>; the same status records an intervention only.</summary>
    /// <param name="scope">Holds the transaction.</param>
    /// <param name="to">The new status.</param>
    /// <param name="reason">Why (empty for automatic transitions).</param>
    /// <param name="actor">Who: the coordinator, an application or a person.</param>
    /// <param name="intervention">A person's intervention: its audit entry, written in the same record.</param>
    public Task ChangeStatusAsync(ISessionScope scope, GlobalStatus to, string reason = "", string actor = TransitionEntry.CoordinatorActor, Intervention? intervention = null)
    {
        var session = scope.Session;
        var from = session.Status;
        if (from != to && !GlobalStatusRules.IsAllowed(from, to))
        {
            throw new InvalidOperationException($"Illegal transition of {session.Xid}: {StatusNames.Of(from)} → {StatusNames.Of(to)}.");
        }
        var written = scope.AppendAsync(new StoreRecord
        {
            GlobalStatusChanged = new GlobalStatusChanged
            {
                Xid = session.Xid, From = from, To = to, AtUnixMs = NowUnixMs, Reason = reason, Actor = actor, Intervention = intervention,
            },
        });
        return GlobalStatusRules.IsEnded(to) && !GlobalStatusRules.IsEnded(from) ? CountEndAsync(scope, written, to, session.Name) : written;
    }

    // Counted once the end is recorded: on a shared store a change that lost a race is not, and runs again.
    private async Task CountEndAsync(ISessionScope scope, Task written, GlobalStatus status, string name)
    {
        await written;
        scope.WhenRecorded(() => metrics.Ended(status, name));
    }

    /// <summary>Records a branch's new status; with <paramref name="durableWithNext"/>, without waiting for its flush (<see cref="ISessionScope.AppendWithNextAsync"/>).</summary>
    public Task ChangeBranchAsync(ISessionScope scope, BranchSession branch, BranchStatus status, string error, bool durableWithNext = false)
    {
        var record = new StoreRecord
        {
            BranchStatusChanged = new BranchStatusChanged { Xid = scope.Session.Xid, BranchId = branch.BranchId, Status = status, Error = error, AtUnixMs = NowUnixMs },
        };
        return durableWithNext ? scope.AppendWithNextAsync(record) : scope.AppendAsync(record);
    }

    /// <summary>Marks a branch done by a person's decision; its locks are released.</summary>
    public Task ForgetBranchAsync(ISessionScope scope, BranchSession branch, BranchStatus doneStatus, string reason, string actor, Intervention intervention) =>
        scope.AppendAsync(new StoreRecord
        {
            BranchStatusChanged = new BranchStatusChanged
            {
                Xid = scope.Session.Xid, BranchId = branch.BranchId, Status = doneStatus, Error = branch.LastError, AtUnixMs = NowUnixMs,
                Forgotten = true, Reason = reason, Actor = actor, Intervention = intervention,
            },
        });
}
