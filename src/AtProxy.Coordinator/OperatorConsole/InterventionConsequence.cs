using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// What an intervention will do to this transaction, said in plain words on the confirmation page
/// before anything changes (e.g. "Force rollback restores the before images of 2 branches; rows
/// changed since will stop it"). It describes; the coordinator decides what is allowed.
/// </summary>
internal static class InterventionConsequence
{
    public static string Of(InterventionKind kind, GetTransactionResponse shown, long branchId)
    {
        var tx = shown.Transaction;
        var pending = tx.Branches.Where(b => !BranchStatusRules.IsDone(b.Status)).ToList();
        var locks = shown.Locks.Count;
        var rollback = tx.Status == GlobalStatus.Begin || GlobalStatusRules.IsRollbackDirection(tx.Status);
        return kind switch
        {
            InterventionKind.ForceRollback when tx.Status == GlobalStatus.Begin =>
                $"Force rollback decides rollback for a transaction still running: the application's commit will be refused. " +
                $"It restores the before images of {Branches(pending.Count)}; rows changed since will stop it. {LocksAfterRollback(locks)}",
            InterventionKind.ForceRollback or InterventionKind.Retry when rollback =>
                $"{Name(kind)} restores the before images of {Branches(pending.Count)} not yet rolled back" +
                $"{Resources(pending)}; rows changed since will stop it again (ROLLBACK_FAILED). {LocksAfterRollback(locks)}",
            InterventionKind.ForceCommit when tx.Status == GlobalStatus.Begin =>
                $"Force commit decides commit for a transaction still running: what its branches wrote so far stays, " +
                $"whatever the application meant to do next. The undo records of {Branches(pending.Count)} are deleted and " +
                $"{Locks(locks)} released.",
            InterventionKind.ForceCommit or InterventionKind.Retry =>
                $"{Name(kind)} runs phase-2 commit again on {Branches(pending.Count)}{Resources(pending)}: their undo records are deleted; the data stays as committed.",
            InterventionKind.ForgetBranch => ForgetBranch(tx, shown, branchId),
            _ => "",
        };
    }

    private static string ForgetBranch(GlobalTransactionInfo tx, GetTransactionResponse shown, long branchId)
    {
        var branch = tx.Branches.FirstOrDefault(b => b.BranchId == branchId);
        if (branch is null)
        {
            return $"The transaction has no branch {branchId}.";
        }
        var locks = shown.Locks.Count(l => l.BranchId == branchId);
        var rest = tx.Branches.Count(b => b.BranchId != branchId && !BranchStatusRules.IsDone(b.Status));
        return $"Forget branch {branchId} marks it done without running its phase 2: the rows of {branch.ResourceId} stay exactly as they are now, " +
            $"{Locks(locks)} released, and its undo row stays in {branch.ResourceId} for you to delete. " +
            (rest == 0 ? "No other branch is left, so the transaction ends (FINISHED)." : $"{Branches(rest)} still wait for phase 2.");
    }

    private static string Name(InterventionKind kind) => kind == InterventionKind.Retry ? "Retry" : InterventionKindNames.Label(kind);

    private static string Branches(int count) => count == 1 ? "1 branch" : $"{count} branches";

    private static string Locks(int count) => count == 1 ? "its 1 global lock is" : $"its {count} global locks are";

    private static string Resources(IReadOnlyCollection<BranchInfo> branches) =>
        branches.Count == 0 ? "" : $" (on {string.Join(", ", branches.Select(b => b.ResourceId).Distinct())})";

    private static string LocksAfterRollback(int count) =>
        $"The {(count == 1 ? "1 global lock stays" : $"{count} global locks stay")} held until every branch is rolled back.";
}
