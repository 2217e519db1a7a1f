namespace AtProxy.Coordinator.Locking;

/// <summary>Who holds a lock: one instance per branch, shared by all the keys it acquired.</summary>
internal sealed record LockHolder(string Xid, long BranchId, string ApplicationId, long AcquiredUnixMs);
