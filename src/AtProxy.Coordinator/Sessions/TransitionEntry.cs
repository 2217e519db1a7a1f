using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>One recorded change of a transaction: a status transition or a person's intervention.</summary>
internal sealed record TransitionEntry(long AtUnixMs, GlobalStatus From, GlobalStatus To, string Reason, string Actor)
{
    /// <summary>The actor of every automatic transition.</summary>
    public const string CoordinatorActor = "coordinator";
}
