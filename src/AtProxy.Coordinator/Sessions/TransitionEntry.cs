using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>One recorded change of a transaction: a status transition or a person's intervention.</summary>
internal sealed record TransitionEntry(long AtUnixMs, GlobalStatus From, GlobalStatus To, string Reason, string Actor)
{
    /// <summary>The actor of every automatic transition.</summary>
    public const string CoordinatorActor = "coordinator";

    /// <summary>The reason recorded for an application's rollback that gave none (older clients).</summary>
    public const string ApplicationRollbackReason = "rolled back by the application";

    /// <summary>The actor of an application's own decision: <c>application:order-service</c>.</summary>
    public static string ApplicationActor(string applicationId) => $"application:{applicationId}";
}
