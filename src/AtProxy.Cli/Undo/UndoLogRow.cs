using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>
/// One row of <c>atproxy_undo_log</c>, decoded: the undo records of one branch, or the
/// global-finished marker a rollback leaves when the branch's phase 1 had not committed yet.
/// </summary>
internal sealed record UndoLogRow(
    string Xid, long BranchId, string Context, UndoLogStatus LogStatus, int SizeBytes, DateTimeOffset Created, DateTimeOffset Modified,
    BranchUndoLog? Log, string? DecodeError)
{
    /// <summary>No undo records, only the marker that stops a late phase 1.</summary>
    public bool IsGlobalFinishedMarker => LogStatus == UndoLogStatus.GlobalFinished;

    /// <summary>The undo records of a committed branch, kept as an audit trail.</summary>
    public bool IsCommittedAuditRecord => LogStatus == UndoLogStatus.Committed;

    public string StatusName => LogStatus switch
    {
        UndoLogStatus.Normal => "undo",
        UndoLogStatus.GlobalFinished => "global-finished",
        UndoLogStatus.Committed => "committed",
        _ => $"status {(int)LogStatus}",
    };
}
