namespace AtProxy.Protocol.Undo;

/// <summary>The <c>log_status</c> of a row of <c>atproxy_undo_log</c> (stored as its integer value).</summary>
public enum UndoLogStatus
{
    /// <summary>Undo records written by phase 1.</summary>
    Normal = 0,

    /// <summary>
    /// Written by a rollback that found no undo records: the branch's phase 1 must not commit
    /// later (its undo insert collides with this row and fails). Holds no undo records.
    /// </summary>
    GlobalFinished = 1,

    /// <summary>
    /// Undo records of a committed branch, kept as an audit trail while the committed-undo retention
    /// lasts; never restored by a rollback.
    /// </summary>
    Committed = 2,
}
