using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// What a branch row means once its transaction's status says more than the row. A status that
/// releases every lock (a commit decision, a rollback's end) has let go of every branch's locks,
/// and COMMITTED or ROLLBACKED has brought every branch not done yet to the same end; neither is
/// ever undone (a status that releases locks only moves to others that do; an ended one moves
/// nowhere). So the store writes the transaction's new status alone, not the branch rows it
/// implies, and every read of a branch row applies the transaction's status to it here: one
/// session-row update instead of one per branch at the decision and again at the end.
/// </summary>
internal static class PostgresImpliedBranchValues
{
    /// <summary>The branch as a transaction in <paramref name="status"/> holds it, given its row (or what was last known of it).</summary>
    public static BranchValues Apply(BranchValues row, GlobalStatus status)
    {
        var implied = GlobalStatusRules.BranchStatusImpliedBy(status);
        if (implied != BranchStatus.Unspecified && !BranchStatusRules.IsDone(row.Status))
        {
            row = row with { Status = implied, LastError = "" };
        }
        return GlobalStatusRules.ReleasesLocks(status) ? row with { LocksHeld = false } : row;
    }
}
