using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage;

/// <summary>A branch to register: its durable record and its keys, distinct, in the lock table's form.</summary>
internal sealed record BranchRegistration(BranchRegistered Record, LockKeyId[] Keys);
