using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Alerts;

/// <summary>Something about one global transaction that a person should look at.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Xid">The transaction.</param>
/// <param name="Name">The transaction's name, as its application began it.</param>
/// <param name="ApplicationId">The application that began it.</param>
/// <param name="Status">Its status when the alert was raised.</param>
/// <param name="BeginTime">When it began.</param>
/// <param name="Age">How long it had existed when the alert was raised.</param>
/// <param name="RaisedAt">When the alert was raised.</param>
/// <param name="Message">What happened, in one sentence.</param>
/// <param name="BranchErrors">The last error of each branch that has one.</param>
public sealed record CoordinatorAlert(
    CoordinatorAlertKind Kind,
    string Xid,
    string Name,
    string ApplicationId,
    GlobalStatus Status,
    DateTimeOffset BeginTime,
    TimeSpan Age,
    DateTimeOffset RaisedAt,
    string Message,
    IReadOnlyList<CoordinatorAlertBranchError> BranchErrors);

/// <summary>One branch's last phase-2 error, as an alert reports it.</summary>
/// <param name="BranchId">The branch.</param>
/// <param name="ResourceId">The resource it wrote.</param>
/// <param name="Status">Its status.</param>
/// <param name="Error">Its last error.</param>
public sealed record CoordinatorAlertBranchError(long BranchId, string ResourceId, BranchStatus Status, string Error);
