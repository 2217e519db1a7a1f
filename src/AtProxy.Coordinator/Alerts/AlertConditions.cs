using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Alerts;

/// <summary>Whether the condition an alert was raised for still holds, given the transaction's status now.</summary>
internal static class AlertConditions
{
    public static bool Holds(CoordinatorAlertKind kind, GlobalStatus status) => kind switch
    {
        CoordinatorAlertKind.RetryTimeout => GlobalStatusRules.IsRetryTimeout(status),
        CoordinatorAlertKind.RollbackFailed => status == GlobalStatus.RollbackFailed,
        CoordinatorAlertKind.CommitFailed => status == GlobalStatus.CommitFailed,
        CoordinatorAlertKind.Unfinished or CoordinatorAlertKind.BranchFailures => !GlobalStatusRules.IsEnded(status),
        _ => false,
    };

    /// <summary>The alert a transaction stopped in <paramref name="status"/> stands under, or null when it is not stopped.</summary>
    public static CoordinatorAlertKind? OfStopped(GlobalStatus status) => status switch
    {
        GlobalStatus.CommitRetryTimeout or GlobalStatus.RollbackRetryTimeout => CoordinatorAlertKind.RetryTimeout,
        GlobalStatus.RollbackFailed => CoordinatorAlertKind.RollbackFailed,
        GlobalStatus.CommitFailed => CoordinatorAlertKind.CommitFailed,
        _ => null,
    };
}
