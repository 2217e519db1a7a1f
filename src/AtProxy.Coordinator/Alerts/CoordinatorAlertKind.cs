namespace AtProxy.Coordinator.Alerts;

/// <summary>What a <see cref="CoordinatorAlert"/> is about.</summary>
public enum CoordinatorAlertKind
{
    /// <summary>Phase-2 retries ran past their budget: COMMIT_RETRY_TIMEOUT or ROLLBACK_RETRY_TIMEOUT ("retry_timeout").</summary>
    RetryTimeout,

    /// <summary>A branch cannot be rolled back (e.g. a dirty write): ROLLBACK_FAILED ("rollback_failed").</summary>
    RollbackFailed,

    /// <summary>A branch cannot be committed: COMMIT_FAILED ("commit_failed").</summary>
    CommitFailed,

    /// <summary>The transaction is still not ended <c>UnfinishedAlertAfterMs</c> after its begin ("unfinished").</summary>
    Unfinished,

    /// <summary>A branch's phase 2 failed more than <c>BranchFailureAlertThreshold</c> times in a row ("branch_failures").</summary>
    BranchFailures,
}

/// <summary>The names alert kinds go by outside the process: in the webhook's JSON, the admin API and the metric tag.</summary>
public static class CoordinatorAlertKindNames
{
    /// <summary>The kind's snake_case name, e.g. "retry_timeout".</summary>
    public static string NameOf(CoordinatorAlertKind kind) => kind switch
    {
        CoordinatorAlertKind.RetryTimeout => "retry_timeout",
        CoordinatorAlertKind.RollbackFailed => "rollback_failed",
        CoordinatorAlertKind.CommitFailed => "commit_failed",
        CoordinatorAlertKind.Unfinished => "unfinished",
        CoordinatorAlertKind.BranchFailures => "branch_failures",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an alert kind."),
    };
}
