using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>What each global status means to the coordinator, and which transitions are legal.</summary>
internal static class GlobalStatusRules
{
    /// <summary>Commit was decided: phase 2 commits.</summary>
    public static bool IsCommitDirection(GlobalStatus status) => status is
        GlobalStatus.Committing or GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying or
        GlobalStatus.Committed or GlobalStatus.CommitFailed or GlobalStatus.CommitRetryTimeout;

    /// <summary>Rollback was decided (by the application, a timeout or a person): phase 2 rolls back.</summary>
    public static bool IsRollbackDirection(GlobalStatus status) => status is
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying or
        GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying or
        GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.RollbackFailed or GlobalStatus.RollbackRetryTimeout;

    /// <summary>Phase 2 is under way: the background loop drives these until they end or stop.</summary>
    public static bool IsPhaseTwoInProgress(GlobalStatus status) => status is
        GlobalStatus.Committing or GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying or
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying or
        GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying;

    /// <summary>A retrying status: the last phase-2 attempt failed and another is scheduled.</summary>
    public static bool IsRetrying(GlobalStatus status) => status is
        GlobalStatus.CommitRetrying or GlobalStatus.RollbackRetrying or GlobalStatus.TimeoutRollbackRetrying;

    /// <summary>Stopped because a branch cannot finish (e.g. a dirty write).</summary>
    public static bool IsFailed(GlobalStatus status) => status is GlobalStatus.CommitFailed or GlobalStatus.RollbackFailed;

    /// <summary>Stopped because phase-2 retries ran past their budget (<c>MaxCommitRetryMs</c>, <c>MaxRollbackRetryMs</c>).</summary>
    public static bool IsRetryTimeout(GlobalStatus status) => status is GlobalStatus.CommitRetryTimeout or GlobalStatus.RollbackRetryTimeout;

    /// <summary>Stopped until a person decides: failed, or out of retry budget. Nothing runs phase 2 for these.</summary>
    public static bool IsStopped(GlobalStatus status) => IsFailed(status) || IsRetryTimeout(status);

    /// <summary>Final: nothing more happens to the transaction.</summary>
    public static bool IsEnded(GlobalStatus status) => status is
        GlobalStatus.Committed or GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.Finished;

    /// <summary>
    /// Entering this status releases every lock of the transaction: commit releases them as
    /// soon as the decision is durable, rollback only once every branch is rolled back.
    /// </summary>
    public static bool ReleasesLocks(GlobalStatus status) => status is
        GlobalStatus.Committing or GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying or
        GlobalStatus.Committed or GlobalStatus.CommitFailed or GlobalStatus.CommitRetryTimeout or
        GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.Finished;

    /// <summary>
    /// The status every branch not done yet has reached when the transaction enters
    /// <paramref name="status"/> (COMMITTED: all committed; ROLLBACKED, TIMEOUT_ROLLBACKED: all rolled
    /// back), or <see cref="BranchStatus.Unspecified"/> when the status says nothing about them.
    /// </summary>
    public static BranchStatus BranchStatusImpliedBy(GlobalStatus status) => status switch
    {
        GlobalStatus.Committed => BranchStatus.PhaseTwoCommitted,
        GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked => BranchStatus.PhaseTwoRollbacked,
        _ => BranchStatus.Unspecified,
    };

    /// <summary>The status an attempt that failed but may be retried moves to.</summary>
    public static GlobalStatus RetryingStatusOf(GlobalStatus status) => status switch
    {
        GlobalStatus.Committing or GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying => GlobalStatus.CommitRetrying,
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying => GlobalStatus.RollbackRetrying,
        GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying => GlobalStatus.TimeoutRollbackRetrying,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Not a phase-2 status."),
    };

    /// <summary>The status phase 2 stops in when its retries ran past their budget.</summary>
    public static GlobalStatus RetryTimeoutStatusOf(GlobalStatus status) =>
        IsCommitDirection(status) ? GlobalStatus.CommitRetryTimeout : GlobalStatus.RollbackRetryTimeout;

    /// <summary>The final status once every branch finished phase 2.</summary>
    public static GlobalStatus CompletedStatusOf(GlobalStatus status) => status switch
    {
        GlobalStatus.Committing or GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying => GlobalStatus.Committed,
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying => GlobalStatus.Rollbacked,
        GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying => GlobalStatus.TimeoutRollbacked,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Not a phase-2 status."),
    };

    /// <summary>True when the state machine allows <paramref name="from"/> → <paramref name="to"/>.</summary>
    public static bool IsAllowed(GlobalStatus from, GlobalStatus to) => (from, to) switch
    {
        (GlobalStatus.Begin, GlobalStatus.AsyncCommitting or GlobalStatus.Committing or GlobalStatus.Committed or
            GlobalStatus.Rollbacking or GlobalStatus.TimeoutRollbacking or GlobalStatus.Rollbacked) => true,
        (GlobalStatus.Committing or GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying,
            GlobalStatus.CommitRetrying or GlobalStatus.Committed or GlobalStatus.CommitFailed or GlobalStatus.CommitRetryTimeout or GlobalStatus.Finished) => true,
        (GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying,
            GlobalStatus.RollbackRetrying or GlobalStatus.Rollbacked or GlobalStatus.RollbackFailed or GlobalStatus.RollbackRetryTimeout or GlobalStatus.Finished) => true,
        (GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying,
            GlobalStatus.TimeoutRollbackRetrying or GlobalStatus.TimeoutRollbacked or GlobalStatus.RollbackFailed or GlobalStatus.RollbackRetryTimeout or GlobalStatus.Finished) => true,
        (GlobalStatus.CommitFailed or GlobalStatus.CommitRetryTimeout, GlobalStatus.CommitRetrying or GlobalStatus.Finished) => true,
        (GlobalStatus.RollbackFailed or GlobalStatus.RollbackRetryTimeout,
            GlobalStatus.RollbackRetrying or GlobalStatus.TimeoutRollbackRetrying or GlobalStatus.Finished) => true,
        _ => false,
    };
}
