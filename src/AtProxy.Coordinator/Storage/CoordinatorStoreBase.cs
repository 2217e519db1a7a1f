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
    /// <summary>How many transaction sequences one durable reservation covers.</summary>
    internal const long SequenceReservation = 10_000;

    private readonly SemaphoreSlim _reserving = new(1, 1);

    protected CoordinatorState State { get; } = new();

    public abstract string Kind { get; }

    public virtual bool IsHealthy => true;

    public abstract Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="record"/> durable, then runs <paramref name="apply"/>; records are applied in durable order.</summary>
    protected abstract Task PersistAsync(StoreRecord record, Action apply);

    /// <summary>
    /// Runs <paramref name="apply"/> at once and makes <paramref name="record"/> durable with the
    /// next records, in order, without waiting for it; by default the same as <see cref="PersistAsync"/>.
    /// </summary>
    protected virtual Task PersistWithNextAsync(StoreRecord record, Action apply) => PersistAsync(record, apply);

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
        if (begun.Sequence > State.ReservedTransactionSequence)
        {
            await ReserveSequencesAsync(begun.Sequence);
        }
        // Nothing depends on a begin alone: the transaction's first registration or decision is
        // written after it and waits for both, so the begin need not wait for a flush of its own.
        await PersistWithNextAsync(new StoreRecord { GlobalBegun = begun }, () => State.ApplyBegun(begun));
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

    private async Task ReserveSequencesAsync(long sequence)
    {
        await _reserving.WaitAsync();
        try
        {
            if (sequence <= State.ReservedTransactionSequence)
            {
                return;
            }
            var upTo = sequence + SequenceReservation;
            await PersistAsync(new StoreRecord { Counters = new CountersSnapshot { LastTransactionSequence = upTo, LastBranchId = State.LastBranchId } },
                () => State.Reserve(upTo));
        }
        finally
        {
            _reserving.Release();
        }
    }

    public Task AppendAsync(StoreRecord record) => PersistAsync(record, () => State.Apply(record));

    public Task PurgeAsync(string xid)
    {
        State.Purge(xid);
        return Task.CompletedTask;
    }

    public abstract ValueTask DisposeAsync();
}
