using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Storage;

/// <summary>How many transactions the store holds by status, and how many keys are locked.</summary>
internal sealed record StoreCounts(IReadOnlyDictionary<GlobalStatus, long> TransactionsByStatus, long LocksHeld);
