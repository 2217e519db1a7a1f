using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Alerts;

/// <summary>The JSON body the webhook receives (camelCase; README "Alerts" documents every field).</summary>
internal sealed record AlertPayload(
    string Kind,
    string Xid,
    string Name,
    string Application,
    string Status,
    long AgeMs,
    DateTimeOffset BeginTime,
    DateTimeOffset Time,
    string Message,
    string Coordinator,
    IReadOnlyList<AlertPayloadBranchError> BranchErrors)
{
    public static AlertPayload Of(CoordinatorAlert alert, string coordinator) => new(
        CoordinatorAlertKindNames.NameOf(alert.Kind),
        alert.Xid,
        alert.Name,
        alert.ApplicationId,
        StatusNames.Of(alert.Status),
        (long)alert.Age.TotalMilliseconds,
        alert.BeginTime,
        alert.RaisedAt,
        alert.Message,
        coordinator,
        [.. alert.BranchErrors.Select(e => new AlertPayloadBranchError(e.BranchId, e.ResourceId, BranchStatusName(e.Status), e.Error))]);

    // As the contract spells it, without its prefix: PHASE_TWO_ROLLBACK_FAILED_RETRYABLE.
    private static string BranchStatusName(BranchStatus status) =>
        CommonReflection.Descriptor.EnumTypes.First(e => e.ClrType == typeof(BranchStatus)).FindValueByNumber((int)status)?.Name.Replace("BRANCH_STATUS_", "", StringComparison.Ordinal) ?? status.ToString();
}

/// <summary>One branch's last error in the webhook's body.</summary>
internal sealed record AlertPayloadBranchError(long BranchId, string ResourceId, string Status, string Error);
