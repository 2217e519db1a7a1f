using AtProxy.Protocol.Undo;

namespace AtProxy.Phase2;

/// <summary>
/// Which undo rows older than the retention the purge may delete, given what the coordinator
/// answered about their transaction. The reasoning is in docs/DESIGN.md ("Purging the undo log").
/// </summary>
internal static class UndoPurgeRules
{
    /// <summary>
    /// True when the row may go. <paramref name="transaction"/> is
    /// <see cref="GlobalTransactionStatus.Unknown"/> only when the coordinator answered that it does not
    /// know the XID (it forgot the ended transaction); an unreachable coordinator decides nothing.
    /// </summary>
    public static bool MayPurge(UndoLogStatus row, GlobalTransactionStatus transaction) => transaction switch
    {
        // Forgotten: only an ended transaction is forgotten, and the row is older than the retention.
        GlobalTransactionStatus.Unknown => true,
        // Committed (or ended by a person): a marker or an orphaned undo row is only garbage.
        GlobalTransactionStatus.Committed or GlobalTransactionStatus.Finished => row is UndoLogStatus.Normal or UndoLogStatus.GlobalFinished,
        // Rolled back: its markers are done; an undo row left behind means a branch was not restored.
        GlobalTransactionStatus.Rollbacked or GlobalTransactionStatus.TimeoutRollbacked => row is UndoLogStatus.GlobalFinished,
        // Open, deciding, in phase 2, or stopped for a person (RollbackFailed, CommitFailed): keep.
        _ => false,
    };

    /// <summary>An undo row of a rolled-back transaction: kept, and worth a warning (a person should look).</summary>
    public static bool IsLeftByRollback(UndoLogStatus row, GlobalTransactionStatus transaction) =>
        row == UndoLogStatus.Normal && transaction is GlobalTransactionStatus.Rollbacked or GlobalTransactionStatus.TimeoutRollbacked;
}
