using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>
/// What a durable record does to one transaction's session, shared by every store: the store
/// applies the change here and then releases the locks it names in its own way (the embedded
/// store in its lock table, the PostgreSQL store in its lock table rows). Callers hold the
/// session's monitor.
/// </summary>
internal static class SessionMutation
{
    /// <summary>Adds a registered branch to its session.</summary>
    public static BranchSession AddBranch(GlobalSession session, BranchRegistered registered, LockKeyId[] keys, LockHolder holder)
    {
        var branch = new BranchSession(registered.BranchId, registered.ResourceId, registered.ApplicationId, registered.RegisteredUnixMs, keys, holder)
        {
            ResourceIdentity = registered.ResourceIdentity,
            RequestId = registered.RequestId,
        };
        session.BranchesUnsafe.Add(branch);
        session.LastUpdateUnixMs = Math.Max(session.LastUpdateUnixMs, registered.RegisteredUnixMs);
        return branch;
    }

    /// <summary>Applies a branch's change.</summary>
    /// <returns>The branch whose locks must now be released (phase 1 failed, or forgotten), or null.</returns>
    public static BranchSession? ApplyBranchStatusChanged(GlobalSession session, BranchStatusChanged changed)
    {
        var branch = session.BranchesUnsafe.Find(b => b.BranchId == changed.BranchId);
        if (branch is null)
        {
            return null;
        }
        branch.Status = changed.Status;
        branch.LastError = changed.Error;
        session.LastUpdateUnixMs = Math.Max(session.LastUpdateUnixMs, changed.AtUnixMs);
        if (changed.Forgotten)
        {
            branch.Forgotten = true;
            session.HistoryUnsafe.Add(new TransitionEntry(changed.AtUnixMs, session.Status, session.Status,
                $"branch {changed.BranchId} forgotten: {changed.Reason}", changed.Actor));
        }
        return (changed.Forgotten || changed.Status == BranchStatus.PhaseOneFailed) && branch.LocksHeld ? branch : null;
    }

    /// <summary>Applies a transition of the transaction.</summary>
    /// <returns>True when every lock of the transaction must now be released.</returns>
    public static bool ApplyGlobalStatusChanged(GlobalSession session, GlobalStatusChanged changed)
    {
        session.Status = changed.To;
        session.LastUpdateUnixMs = Math.Max(session.LastUpdateUnixMs, changed.AtUnixMs);
        if (changed.To is GlobalStatus.TimeoutRollbacking)
        {
            session.TimedOut = true;
        }
        // A new run of phase 2, with a fresh retry budget: the decision, a resumption of a stopped
        // transaction, or any intervention by a person (which also restarts the back-off).
        if (GlobalStatusRules.IsPhaseTwoInProgress(changed.To) &&
            (!GlobalStatusRules.IsPhaseTwoInProgress(changed.From) || changed.Actor != TransitionEntry.CoordinatorActor))
        {
            session.PhaseTwoSinceUnixMs = changed.AtUnixMs;
        }
        session.HistoryUnsafe.Add(new TransitionEntry(changed.AtUnixMs, changed.From, changed.To, changed.Reason, changed.Actor));
        // Reaching COMMITTED or ROLLBACKED means every branch got there: their own records are not needed.
        var allBranches = GlobalStatusRules.BranchStatusImpliedBy(changed.To);
        if (allBranches != BranchStatus.Unspecified)
        {
            foreach (var branch in session.BranchesUnsafe)
            {
                if (!BranchStatusRules.IsDone(branch.Status))
                {
                    branch.Status = allBranches;
                    branch.LastError = "";
                }
            }
        }
        return GlobalStatusRules.ReleasesLocks(changed.To);
    }

    /// <summary>
    /// The keys of <paramref name="branch"/> that another live branch of the same transaction
    /// also registered, with that branch's holder: they stay held when the branch lets go.
    /// Marks the branch as holding no locks.
    /// </summary>
    public static Dictionary<LockKeyId, LockHolder>? LetGo(GlobalSession session, BranchSession branch)
    {
        branch.LocksHeld = false;
        Dictionary<LockKeyId, LockHolder>? others = null;
        foreach (var other in session.BranchesUnsafe)
        {
            if (other.LocksHeld && !ReferenceEquals(other, branch))
            {
                others ??= [];
                foreach (var key in other.LockKeys)
                {
                    others.TryAdd(key, other.Holder);
                }
            }
        }
        return others;
    }

    /// <summary>Marks every branch as holding no locks; returns the branches that held some.</summary>
    public static List<BranchSession> LetGoAll(GlobalSession session)
    {
        var released = new List<BranchSession>();
        foreach (var branch in session.BranchesUnsafe)
        {
            if (branch.LocksHeld)
            {
                branch.LocksHeld = false;
                released.Add(branch);
            }
        }
        return released;
    }
}
