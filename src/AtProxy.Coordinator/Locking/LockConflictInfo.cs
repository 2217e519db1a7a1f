namespace AtProxy.Coordinator.Locking;

/// <summary>A key that was asked for and is held by another global transaction.</summary>
internal sealed record LockConflictInfo(LockKeyId Key, LockHolder Holder);
