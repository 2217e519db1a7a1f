using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>
/// One row of <c>atproxy_undo_log</c>, decoded: the undo records of one branch, or the
/// global-finished marker a rollback leaves when the branch's phase 1 had not committed yet.
/// </summary>
internal sealed record UndoLogRow(
    string Xid, long BranchId, string Context, int LogStatus, int SizeBytes, DateTimeOffset Created, DateTimeOffset Modified,
    BranchUndoLog? Log, string? DecodeError)
{
    /// <summary>log_status 1: no undo records, only the marker that stops a late phase 1.</summary>
    public const int GlobalFinishedStatus = 1;

    /// <summary>log_status 2: the undo records of a committed branch, kept as an audit trail.</summary>
    public const int CommittedStatus = 2;

    public bool IsGlobalFinishedMarker => LogStatus == GlobalFinishedStatus;

    public bool IsCommittedAuditRecord => LogStatus == CommittedStatus;

    public string StatusName => LogStatus switch
    {
        0 => "undo",
        GlobalFinishedStatus => "global-finished",
        CommittedStatus => "committed",
        _ => $"status {LogStatus}",
    };
}
