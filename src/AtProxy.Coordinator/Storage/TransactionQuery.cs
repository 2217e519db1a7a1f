using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Storage;

/// <summary>A page of the transaction list: sequence after <see cref="AfterSequence"/>, filters, limit.</summary>
internal sealed record TransactionQuery(
    long AfterSequence,
    IReadOnlySet<GlobalStatus> Statuses,
    string Name,
    string ApplicationId,
    long BegunBeforeUnixMs,
    int Limit)
{
    /// <summary>True when <paramref name="session"/> passes the filters (not the page bounds).</summary>
    public bool Matches(Sessions.GlobalSession session) =>
        session.Sequence > AfterSequence &&
        (Statuses.Count == 0 || Statuses.Contains(session.Status)) &&
        (Name.Length == 0 || session.Name == Name) &&
        (ApplicationId.Length == 0 || session.ApplicationId == ApplicationId) &&
        session.BeginTimeUnixMs <= BegunBeforeUnixMs;
}
