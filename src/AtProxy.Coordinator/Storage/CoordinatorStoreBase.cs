using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// A store whose state lives in this process (<see cref="CoordinatorState"/>): subclasses
/// decide only how a record is made durable before it is applied.
/// </summary>
internal abstract class CoordinatorStoreBase : ICoordinatorStore
{
    protected CoordinatorState State { get; } = new();

    public abstract string Kind { get; }

    public virtual bool IsHealthy => true;

    public abstract Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="record"/> durable, then runs <paramref name="apply"/>; records are applied in durable order.</summary>
    protected abstract Task PersistAsync(StoreRecord record, Action apply);

    public long NextTransactionSequence() => State.NextTransactionSequence();

    public long NextBranchId() => State.NextBranchId();

    public GlobalSession? Find(string xid) => State.Find(xid);

    public IEnumerable<GlobalSession> Sessions => State.Sessions;

    public long LocksHeld => State.Locks.Count;

    public LockConflictInfo? CheckLocks(ReadOnlySpan<LockKeyId> keys, string? xid) => State.Locks.Check(keys, xid);

    public LockHolder? HolderOf(LockKeyId key) => State.Locks.HolderOf(key);

    public List<KeyValuePair<LockKeyId, LockHolder>> SnapshotLocks() => State.Locks.Snapshot();

    public async Task<GlobalSession> BeginAsync(GlobalBegun begun)
    {
        await PersistAsync(new StoreRecord { GlobalBegun = begun }, () => State.ApplyBegun(begun));
        return State.Find(begun.Xid) ?? throw new InvalidOperationException($"The transaction {begun.Xid} vanished right after it was recorded.");
    }

    public async Task<LockConflictInfo?> RegisterBranchAsync(BranchRegistration registration)
    {
        var holder = CoordinatorState.HolderOf(registration.Record);
        if (State.Locks.TryAcquire(registration.Keys, holder) is { } conflict)
        {
            return conflict;
        }
        try
        {
            await PersistAsync(new StoreRecord { BranchRegistered = registration.Record },
                () => State.ApplyBranchRegistered(registration.Record, registration.Keys, holder));
        }
        catch
        {
            // Not durable, so not granted: nobody was told about these locks yet.
            State.Locks.ReleaseBranch(registration.Keys, holder, static _ => null);
            throw;
        }
        return null;
    }

    public Task AppendAsync(StoreRecord record) => PersistAsync(record, () => State.Apply(record));

    public Task PurgeAsync(string xid)
    {
        State.Purge(xid);
        return Task.CompletedTask;
    }

    public abstract ValueTask DisposeAsync();
}
