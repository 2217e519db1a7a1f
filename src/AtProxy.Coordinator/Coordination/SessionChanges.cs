using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// Writes the changes of a transaction as durable records. Callers hold the session's
/// <see cref="GlobalSession.Gate"/>; when a method returns, the change is durable and applied.
/// </summary>
internal sealed class SessionChanges(ICoordinatorStore store, TimeProvider time)
{
    public long NowUnixMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Moves the transaction to <paramref name="to"/>; the same status records an intervention only.</summary>
    public Task ChangeStatusAsync(GlobalSession session, GlobalStatus to, string reason = "", string actor = TransitionEntry.CoordinatorActor)
    {
        var from = session.Status;
        if (from != to && !GlobalStatusRules.IsAllowed(from, to))
        {
            throw new InvalidOperationException($"Illegal transition of {session.Xid}: {StatusNames.Of(from)} → {StatusNames.Of(to)}.");
        }
        return store.AppendAsync(new StoreRecord
        {
            GlobalStatusChanged = new GlobalStatusChanged { Xid = session.Xid, From = from, To = to, AtUnixMs = NowUnixMs, Reason = reason, Actor = actor },
        });
    }

    public Task ChangeBranchAsync(GlobalSession session, BranchSession branch, BranchStatus status, string error) =>
        store.AppendAsync(new StoreRecord
        {
            BranchStatusChanged = new BranchStatusChanged { Xid = session.Xid, BranchId = branch.BranchId, Status = status, Error = error, AtUnixMs = NowUnixMs },
        });

    /// <summary>Marks a branch done by a person's decision; its locks are released.</summary>
    public Task ForgetBranchAsync(GlobalSession session, BranchSession branch, BranchStatus doneStatus, string reason, string actor) =>
        store.AppendAsync(new StoreRecord
        {
            BranchStatusChanged = new BranchStatusChanged
            {
                Xid = session.Xid, BranchId = branch.BranchId, Status = doneStatus, Error = branch.LastError, AtUnixMs = NowUnixMs,
                Forgotten = true, Reason = reason, Actor = actor,
            },
        });
}
