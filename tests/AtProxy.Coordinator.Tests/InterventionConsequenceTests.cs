using AtProxy.Coordinator.OperatorConsole;

namespace AtProxy.Coordinator.Tests;

/// <summary>The console's confirmation says what an intervention will do, in numbers taken from the transaction.</summary>
public class InterventionConsequenceTests
{
    [Fact]
    public void Force_rollback_of_a_stopped_rollback_counts_the_branches_still_to_restore_and_warns_about_rows_changed_since()
    {
        var shown = Transaction(GlobalStatus.RollbackFailed,
            Branch(1, "orders-db", BranchStatus.PhaseTwoRollbacked),
            Branch(2, "inventory-db", BranchStatus.PhaseTwoRollbackFailedUnretryable),
            Branch(3, "orders-db", BranchStatus.PhaseOneDone));
        shown.Locks.Add(Lock(2));
        shown.Locks.Add(Lock(3));

        var said = InterventionConsequence.Of(InterventionKind.ForceRollback, shown, 0);

        Assert.StartsWith("Force rollback restores the before images of 2 branches not yet rolled back (on inventory-db, orders-db); rows changed since will stop it", said);
        Assert.Contains("The 2 global locks stay held until every branch is rolled back.", said);
    }

    [Fact]
    public void Forget_branch_says_the_rows_stay_the_locks_go_and_whether_the_transaction_ends()
    {
        var shown = Transaction(GlobalStatus.RollbackFailed, Branch(7, "inventory-db", BranchStatus.PhaseTwoRollbackFailedUnretryable));
        shown.Locks.Add(Lock(7));

        var said = InterventionConsequence.Of(InterventionKind.ForgetBranch, shown, 7);

        Assert.Equal("Forget branch 7 marks it done without running its phase 2: the rows of inventory-db stay exactly as they are now, " +
            "its 1 global lock is released, and its undo row stays in inventory-db for you to delete. No other branch is left, so the transaction ends (FINISHED).", said);
    }

    [Fact]
    public void Force_commit_of_a_running_transaction_says_the_application_loses_its_say()
    {
        var shown = Transaction(GlobalStatus.Begin, Branch(1, "orders-db", BranchStatus.PhaseOneDone));

        Assert.StartsWith("Force commit decides commit for a transaction still running", InterventionConsequence.Of(InterventionKind.ForceCommit, shown, 0));
    }

    [Fact]
    public void Retry_of_a_stopped_commit_speaks_of_undo_records_deleted_not_of_rows_restored()
    {
        var shown = Transaction(GlobalStatus.CommitRetryTimeout, Branch(4, "orders-db", BranchStatus.PhaseTwoCommitFailedRetryable));

        Assert.Equal("Retry runs phase-2 commit again on 1 branch (on orders-db): their undo records are deleted; the data stays as committed.",
            InterventionConsequence.Of(InterventionKind.Retry, shown, 0));
    }

    private static GetTransactionResponse Transaction(GlobalStatus status, params BranchInfo[] branches)
    {
        var info = new GlobalTransactionInfo { Xid = "tc:1", Status = status };
        info.Branches.Add(branches);
        return new GetTransactionResponse { Transaction = info };
    }

    private static BranchInfo Branch(long id, string resource, BranchStatus status) => new() { BranchId = id, ResourceId = resource, Status = status };

    private static LockInfo Lock(long branch) => new() { BranchId = branch, ResourceId = "r", Key = new LockKey { Table = "t", PrimaryKey = branch.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
}
