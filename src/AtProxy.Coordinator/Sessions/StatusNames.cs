using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>Status names as the contract spells them (GLOBAL_STATUS_ROLLBACK_FAILED → ROLLBACK_FAILED), for messages.</summary>
internal static class StatusNames
{
    public static string Of(GlobalStatus status) => status switch
    {
        GlobalStatus.Begin => "BEGIN",
        GlobalStatus.Committing => "COMMITTING",
        GlobalStatus.CommitRetrying => "COMMIT_RETRYING",
        GlobalStatus.AsyncCommitting => "ASYNC_COMMITTING",
        GlobalStatus.Rollbacking => "ROLLBACKING",
        GlobalStatus.RollbackRetrying => "ROLLBACK_RETRYING",
        GlobalStatus.TimeoutRollbacking => "TIMEOUT_ROLLBACKING",
        GlobalStatus.TimeoutRollbackRetrying => "TIMEOUT_ROLLBACK_RETRYING",
        GlobalStatus.Committed => "COMMITTED",
        GlobalStatus.Rollbacked => "ROLLBACKED",
        GlobalStatus.TimeoutRollbacked => "TIMEOUT_ROLLBACKED",
        GlobalStatus.CommitFailed => "COMMIT_FAILED",
        GlobalStatus.RollbackFailed => "ROLLBACK_FAILED",
        GlobalStatus.Finished => "FINISHED",
        GlobalStatus.CommitRetryTimeout => "COMMIT_RETRY_TIMEOUT",
        GlobalStatus.RollbackRetryTimeout => "ROLLBACK_RETRY_TIMEOUT",
        _ => status.ToString(),
    };
}
