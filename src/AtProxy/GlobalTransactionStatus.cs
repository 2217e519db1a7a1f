namespace AtProxy;

/// <summary>
/// The status of a global transaction, with Seata's names and meanings (mirrors the
/// coordinator's protocol values).
/// </summary>
public enum GlobalTransactionStatus
{
    /// <summary>Not known (e.g. the coordinator has forgotten it).</summary>
    Unknown = 0,
    /// <summary>Begun; branches may register.</summary>
    Begin = 1,
    /// <summary>Commit decided; branches being committed.</summary>
    Committing = 2,
    /// <summary>A branch commit is being retried.</summary>
    CommitRetrying = 3,
    /// <summary>Commit decided and durable; branches committed in the background.</summary>
    AsyncCommitting = 4,
    /// <summary>Rollback decided; branches being rolled back.</summary>
    Rollbacking = 5,
    /// <summary>A branch rollback is being retried.</summary>
    RollbackRetrying = 6,
    /// <summary>Rolling back because the timeout passed.</summary>
    TimeoutRollbacking = 7,
    /// <summary>A timeout rollback is being retried.</summary>
    TimeoutRollbackRetrying = 8,
    /// <summary>Every branch committed.</summary>
    Committed = 9,
    /// <summary>Every branch rolled back.</summary>
    Rollbacked = 10,
    /// <summary>Rolled back after the timeout passed.</summary>
    TimeoutRollbacked = 11,
    /// <summary>A branch cannot be committed; a person must decide.</summary>
    CommitFailed = 12,
    /// <summary>A branch cannot be rolled back (e.g. a dirty write); a person must decide.</summary>
    RollbackFailed = 13,
    /// <summary>Ended by a person's intervention.</summary>
    Finished = 14,
    /// <summary>
    /// Commit decided and its locks released, but phase-2 commit retries ran past the coordinator's
    /// budget: the branches' cleanup waits for a person to retry it. The data is committed.
    /// </summary>
    CommitRetryTimeout = 15,
    /// <summary>
    /// Rollback decided, but phase-2 rollback retries ran past the coordinator's budget: rows not yet
    /// restored stay as they are, with their locks held, until a person retries it.
    /// </summary>
    RollbackRetryTimeout = 16,
}

/// <summary>Helpers for reading a <see cref="GlobalTransactionStatus"/>.</summary>
public static class GlobalTransactionStatusExtensions
{
    /// <summary>True for a status that means the commit decision was taken.</summary>
    public static bool IsCommitDecided(this GlobalTransactionStatus status) => status is
        GlobalTransactionStatus.Committing or GlobalTransactionStatus.CommitRetrying or
        GlobalTransactionStatus.AsyncCommitting or GlobalTransactionStatus.Committed or
        GlobalTransactionStatus.CommitRetryTimeout;

    /// <summary>True for a status that means the transaction was or is being rolled back.</summary>
    public static bool IsRollbackDecided(this GlobalTransactionStatus status) => status is
        GlobalTransactionStatus.Rollbacking or GlobalTransactionStatus.RollbackRetrying or
        GlobalTransactionStatus.TimeoutRollbacking or GlobalTransactionStatus.TimeoutRollbackRetrying or
        GlobalTransactionStatus.Rollbacked or GlobalTransactionStatus.TimeoutRollbacked or
        GlobalTransactionStatus.RollbackRetryTimeout;
}
