using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// Where the coordinator's state lives: global sessions, their branches, their history and the
/// global row locks. Every change is made inside an <see cref="ISessionScope"/>, which holds the
/// transaction exclusively in this coordinator, never lets a change be written over another
/// coordinator's change made meanwhile (a shared store refuses it whole with
/// <see cref="StoreConflictException"/>), and makes each change durable before the caller acts
/// on it. Lock acquisition is atomic inside the store: the embedded store acquires in its lock
/// table, the PostgreSQL store in its group commit's one insert.
/// </summary>
internal interface ICoordinatorStore : IAsyncDisposable
{
    /// <summary>"embedded", "memory" or "postgres", as reported by the admin API.</summary>
    string Kind { get; }

    /// <summary>False once the store cannot accept changes: the coordinator reports itself unhealthy.</summary>
    bool IsHealthy { get; }

    /// <summary>
    /// True when several coordinator instances may share the store: background work is claimed
    /// with leases, and sessions read outside a scope are copies.
    /// </summary>
    bool IsShared { get; }

    /// <summary>Loads (recovers) the durable state, or creates or migrates the schema. Called once, before the first request is served.</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>A new transaction sequence number, unique in this store.</summary>
    ValueTask<long> NextTransactionSequenceAsync();

    /// <summary>A new branch id, unique in this store.</summary>
    ValueTask<long> NextBranchIdAsync();

    /// <summary>
    /// Records a new transaction. The embedded store may return before its record is flushed: the
    /// record is written ahead of any later change of the transaction, so a registration or
    /// decision is never durable without it, and a begin lost in a crash costs only a transaction
    /// nothing was yet recorded for (its calls then fail NOT_FOUND). Its sequence is reserved
    /// durably first, so its XID is never handed out again.
    /// </summary>
    Task BeginAsync(GlobalBegun begun);

    /// <summary>The transaction with its branches and history, or null when unknown (or purged). Read only.</summary>
    Task<GlobalSession?> FindAsync(string xid);

    /// <summary>
    /// The status of each transaction of <paramref name="xids"/> the store holds, read only, in one
    /// look (one query in a database); an unknown (or purged) XID is absent from the result.
    /// </summary>
    Task<IReadOnlyDictionary<string, AtProxy.Protocol.V1.GlobalStatus>> FindStatusesAsync(IReadOnlyCollection<string> xids);

    /// <summary>
    /// Holds the transaction exclusively until the scope is disposed, or returns null when it is
    /// unknown. Changes are made through the scope.
    /// </summary>
    Task<ISessionScope?> LockAsync(string xid, CancellationToken cancellationToken = default);

    /// <summary>Transactions matching <paramref name="query"/>, by sequence, at most <see cref="TransactionQuery.Limit"/>.</summary>
    Task<IReadOnlyList<GlobalSession>> ListAsync(TransactionQuery query);

    /// <summary>The number of transactions by status, and of keys locked.</summary>
    Task<StoreCounts> CountAsync();

    /// <summary>The first key held by another transaction than <paramref name="xid"/> (by anyone when null).</summary>
    Task<LockConflictInfo?> CheckLocksAsync(LockKeyId[] keys, string? xid);

    /// <summary>
    /// Waits until <paramref name="key"/> may have been released, at most <paramref name="atMost"/>:
    /// an in-process lock table signals the release itself; a shared store is told by a
    /// notification from whichever coordinator released it, or polls where the database has none.
    /// </summary>
    Task WaitForReleaseAsync(LockKeyId key, TimeSpan atMost, CancellationToken cancellationToken);

    /// <summary>The locks <paramref name="session"/>'s branches hold.</summary>
    Task<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>> LocksOfAsync(GlobalSession session);

    /// <summary>Held locks matching <paramref name="query"/>, in cursor order, at most <see cref="LockQuery.Limit"/>.</summary>
    Task<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>> ListLocksAsync(LockQuery query);

    /// <summary>Transactions still BEGIN whose timeout passed at <paramref name="nowUnixMs"/>.</summary>
    Task<IReadOnlyList<string>> FindTimedOutAsync(long nowUnixMs);

    /// <summary>
    /// Transactions in phase 2 whose next attempt is due and that no other live instance has claimed
    /// (this instance's own claims are listed: the caller skips those it is running).
    /// </summary>
    Task<IReadOnlyList<string>> FindDuePhaseTwoAsync(long nowUnixMs);

    /// <summary>Makes transactions waiting for one of <paramref name="resourceIds"/> due at once.</summary>
    Task WakeWaitingForAsync(IReadOnlyList<string> resourceIds);

    /// <summary>
    /// Intervention audit entries, newest first: those with an id below <paramref name="beforeId"/>,
    /// of <paramref name="xid"/> when it is not empty, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<Protocol.V1.Intervention>> ListInterventionsAsync(string xid, long beforeId, int limit);

    /// <summary>Drops audit entries made before <paramref name="atUnixMs"/> (their retention passed).</summary>
    Task ExpireInterventionsAsync(long atUnixMs);

    /// <summary>Forgets ended transactions last changed before <paramref name="lastUpdateBeforeUnixMs"/>.</summary>
    Task PurgeEndedAsync(long lastUpdateBeforeUnixMs);

    /// <summary>
    /// Claims the transaction's phase 2 for this instance (a lease other instances respect until
    /// it expires) and counts an attempt. Null when it is not in phase 2 or another live
    /// instance holds the claim; otherwise the session as it is now.
    /// </summary>
    /// <param name="xid">The transaction.</param>
    /// <param name="dueByUnixMs">
    /// For an attempt the background loop starts because the transaction was due: the claim is
    /// also refused when its next attempt is now later than this. An attempt that ran between the
    /// loop's listing and this claim may have failed and scheduled the next one with back-off,
    /// which must not be skipped. Null for attempts asked for directly (a decision, a person's retry).
    /// </param>
    Task<GlobalSession?> ClaimPhaseTwoAsync(string xid, long? dueByUnixMs);

    /// <summary>Extends this instance's claim; false when it was lost (expired and taken by another instance).</summary>
    Task<bool> RenewClaimAsync(string xid);

    /// <summary>Gives up this instance's claim, so any instance may take the next attempt.</summary>
    Task ReleaseClaimAsync(string xid);
}
