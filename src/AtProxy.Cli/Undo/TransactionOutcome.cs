using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>How an undo row's global transaction ended, as far as the coordinator can tell.</summary>
internal enum OutcomeKind
{
    /// <summary>Begun, not decided: a rollback would restore its rows.</summary>
    Open,
    /// <summary>Commit decided (phase 2 done or under way): nothing to restore.</summary>
    Committed,
    /// <summary>Rollback decided, phase 2 under way.</summary>
    RollingBack,
    /// <summary>Rolled back (also after its timeout).</summary>
    RolledBack,
    /// <summary>A rollback stopped (e.g. a dirty write); a person must decide.</summary>
    RollbackFailed,
    /// <summary>A commit stopped; a person must decide.</summary>
    CommitFailed,
    /// <summary>Rollback retries ran out of budget; rows not restored yet stay, locked, until a person retries.</summary>
    RollbackRetryTimeout,
    /// <summary>Ended by a person's intervention.</summary>
    Finished,
    /// <summary>The coordinator answered that it does not know the XID.</summary>
    Unknown,
    /// <summary>The coordinator could not be asked.</summary>
    Unreachable,
}

/// <summary>An undo row's transaction outcome with the coordinator's status (when it answered).</summary>
internal sealed record TransactionOutcome(OutcomeKind Kind, GlobalStatus? Status, string? Note = null)
{
    public static TransactionOutcome Of(GlobalStatus status) => new(status switch
    {
        GlobalStatus.Begin => OutcomeKind.Open,
        GlobalStatus.Committing or GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying or GlobalStatus.Committed or
            GlobalStatus.CommitRetryTimeout => OutcomeKind.Committed,
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying or GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying => OutcomeKind.RollingBack,
        GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked => OutcomeKind.RolledBack,
        GlobalStatus.RollbackFailed => OutcomeKind.RollbackFailed,
        GlobalStatus.CommitFailed => OutcomeKind.CommitFailed,
        GlobalStatus.RollbackRetryTimeout => OutcomeKind.RollbackRetryTimeout,
        GlobalStatus.Finished => OutcomeKind.Finished,
        _ => OutcomeKind.Unknown,
    }, status == GlobalStatus.Unspecified ? null : status);

    /// <summary>The outcome in words, for tables: "committed", "unknown (coordinator unreachable)"...</summary>
    public string Text => Kind switch
    {
        OutcomeKind.Open => "open",
        OutcomeKind.Committed => "committed",
        OutcomeKind.RollingBack => "rolling back",
        OutcomeKind.RolledBack => "rolled back",
        OutcomeKind.RollbackFailed => "rollback failed",
        OutcomeKind.CommitFailed => "commit failed",
        OutcomeKind.RollbackRetryTimeout => "rollback retries timed out",
        OutcomeKind.Finished => "finished by an operator",
        OutcomeKind.Unknown => Note is null ? "unknown to the coordinator" : $"unknown ({Note})",
        _ => $"unknown ({Note ?? "coordinator unreachable"})",
    };

    /// <summary>The outcome as one token, for JSON.</summary>
    public string Token => Kind switch
    {
        OutcomeKind.Open => "open",
        OutcomeKind.Committed => "committed",
        OutcomeKind.RollingBack => "rolling-back",
        OutcomeKind.RolledBack => "rolled-back",
        OutcomeKind.RollbackFailed => "rollback-failed",
        OutcomeKind.CommitFailed => "commit-failed",
        OutcomeKind.RollbackRetryTimeout => "rollback-retry-timeout",
        OutcomeKind.Finished => "finished",
        _ => "unknown",
    };

    /// <summary>What the operator may do with a row of this branch, in one sentence.</summary>
    public string Advice(UndoLogRow row) => Kind switch
    {
        OutcomeKind.Committed when row.IsCommittedAuditRecord =>
            "Committed: this row is an audit record of the change, nothing to restore; the purge deletes it once the audit retention has passed.",
        OutcomeKind.Committed =>
            "Committed: this row is a leftover of a committed branch, nothing to restore; the purge deletes it once the retention has passed.",
        OutcomeKind.Open => "Open: a rollback restores these rows; a commit deletes this undo row.",
        OutcomeKind.RollingBack => "Rolling back: the coordinator is restoring these rows.",
        OutcomeKind.RolledBack =>
            "Rolled back, yet this undo row is still here: the branch's changes may not have been undone. A person must decide (compare before, after and now below).",
        OutcomeKind.RollbackFailed =>
            "Rollback failed: a person must decide; see 'atproxy tx show XID', then 'atproxy tx retry' or 'atproxy branch forget'.",
        OutcomeKind.CommitFailed => "Commit failed: a person must decide; see 'atproxy tx show XID'.",
        OutcomeKind.RollbackRetryTimeout =>
            "Rollback retries timed out (the resource kept failing): fix the cause named by 'atproxy tx show XID', then 'atproxy tx retry'.",
        OutcomeKind.Finished => "Finished by an operator: nothing restores these rows any more; check them by hand if in doubt.",
        OutcomeKind.Unknown =>
            "The coordinator does not know this transaction (it forgot it after it ended, or another coordinator issued it): whether it committed is unknown; do not restore these rows without checking.",
        _ => $"The transaction's outcome is unknown ({Note ?? "coordinator unreachable"}): do not restore these rows without checking.",
    };

    /// <summary>What a row still equal to its after image means for this outcome.</summary>
    public string MatchesAfter(bool inserted) => Kind switch
    {
        OutcomeKind.Open or OutcomeKind.RollingBack or OutcomeKind.RollbackFailed or OutcomeKind.RollbackRetryTimeout =>
            inserted ? "matches after: rollback can delete it" : "matches after: rollback can restore it",
        OutcomeKind.Committed => "matches after: committed: this row is an audit record / leftover, nothing to restore",
        OutcomeKind.RolledBack => "matches after: rolled back but not restored: a person must decide",
        OutcomeKind.CommitFailed or OutcomeKind.Finished => "matches after: a person must decide",
        _ => $"matches after: outcome {Text}: check before restoring",
    };
}
