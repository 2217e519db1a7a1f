using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// Where the coordinator's state lives: global sessions, their branches and the global row
/// locks. Every change is a <see cref="StoreRecord"/> that is durable before the returned task
/// completes, and visible to readers only from then on. Lock acquisition is atomic inside the
/// store, so a shared database store can acquire in one statement what the embedded store
/// acquires in its lock table.
/// </summary>
internal interface ICoordinatorStore : IAsyncDisposable
{
    /// <summary>"embedded", "memory" (and later "postgres"), as reported by the admin API.</summary>
    string Kind { get; }

    /// <summary>False once a write failed: the store refuses further changes, and the coordinator reports itself unhealthy.</summary>
    bool IsHealthy { get; }

    /// <summary>Loads (recovers) the durable state. Called once, before the first request is served.</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>A new transaction sequence number, unique in this store.</summary>
    long NextTransactionSequence();

    /// <summary>A new branch id, unique in this store.</summary>
    long NextBranchId();

    /// <summary>The transaction, or null when unknown (or purged).</summary>
    GlobalSession? Find(string xid);

    /// <summary>Every transaction the store holds, in no particular order.</summary>
    IEnumerable<GlobalSession> Sessions { get; }

    /// <summary>The number of keys locked.</summary>
    long LocksHeld { get; }

    /// <summary>The first key held by another transaction than <paramref name="xid"/> (by anyone when null).</summary>
    LockConflictInfo? CheckLocks(ReadOnlySpan<LockKeyId> keys, string? xid);

    /// <summary>The holder of one key, or null.</summary>
    LockHolder? HolderOf(LockKeyId key);

    /// <summary>Every held lock (not a consistent cut; for listing).</summary>
    List<KeyValuePair<LockKeyId, LockHolder>> SnapshotLocks();

    /// <summary>
    /// Records a new transaction. Unlike every other change it may return before its record is
    /// flushed: the record is written ahead of any later change of the transaction, so a
    /// registration or decision is never durable without it, and a begin lost in a crash costs
    /// only a transaction nothing was yet recorded for (its calls then fail NOT_FOUND). Its
    /// sequence is reserved durably first, so its XID is never handed out again.
    /// </summary>
    Task<GlobalSession> BeginAsync(GlobalBegun begun);

    /// <summary>
    /// Acquires all of the branch's keys and records the branch, or acquires nothing and
    /// records nothing when another transaction holds one of them.
    /// </summary>
    /// <returns>Null when registered; the conflict otherwise.</returns>
    Task<LockConflictInfo?> RegisterBranchAsync(BranchRegistration registration);

    /// <summary>Records a change of an existing transaction (status, branch status).</summary>
    Task AppendAsync(StoreRecord record);

    /// <summary>Forgets an ended transaction after its retention (no durable record is needed).</summary>
    Task PurgeAsync(string xid);
}
