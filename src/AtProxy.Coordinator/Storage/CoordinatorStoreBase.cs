using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// A store whose state lives in this process (<see cref="CoordinatorState"/>): subclasses
/// decide only how a record is made durable before it is applied. One coordinator owns it,
/// so a transaction is held by its session's <see cref="GlobalSession.Gate"/> and sessions are
/// handed out live.
/// </summary>
internal abstract class CoordinatorStoreBase : ICoordinatorStore
{
    /// <summary>
    /// How far ahead of the last sequence handed out a durable reservation reaches. A crash can skip
    /// at most this many XIDs; a clean shutdown skips none (see <see cref="ReleaseReservationAsync"/>).
    /// The next block is reserved when half of this one is used, in the background, so a begin
    /// waits for a reservation's flush only when begins outrun the disk.
    /// </summary>
    internal const long SequenceReservation = 100;

    private readonly Lock _reservationGate = new();
    private Task _latestReservation = Task.CompletedTask;
    private long _reservationRequestedUpTo;
    private long _reservations;

    protected CoordinatorState State { get; } = new();

    /// <summary>Where the store's in-memory state records how long locks were held (optional).</summary>
    public CoordinatorMetrics? Metrics
    {
        get => State.Metrics;
        init => State.Metrics = value;
    }

    public abstract string Kind { get; }

    public virtual bool IsHealthy => true;

    public bool IsShared => false;

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

    public ValueTask<long> NextTransactionSequenceAsync() => ValueTask.FromResult(State.NextTransactionSequence());

    public ValueTask<long> NextBranchIdAsync() => ValueTask.FromResult(State.NextBranchId());

    public GlobalSession? Find(string xid) => State.Find(xid);

    public Task<GlobalSession?> FindAsync(string xid) => Task.FromResult(State.Find(xid));

    public Task<IReadOnlyDictionary<string, GlobalStatus>> FindStatusesAsync(IReadOnlyCollection<string> xids)
    {
        var found = new Dictionary<string, GlobalStatus>(StringComparer.Ordinal);
        foreach (var xid in xids)
        {
            if (State.Find(xid) is { } session)
            {
                found[xid] = session.Status;
            }
        }
        return Task.FromResult<IReadOnlyDictionary<string, GlobalStatus>>(found);
    }

    /// <summary>Every transaction the store holds, in no particular order.</summary>
    public IEnumerable<GlobalSession> Sessions => State.Sessions;

    /// <summary>The number of keys locked.</summary>
    public long LocksHeld => State.Locks.Count;

    /// <summary>The holder of one key, or null.</summary>
    public LockHolder? HolderOf(LockKeyId key) => State.Locks.HolderOf(key);

    public async Task<ISessionScope?> LockAsync(string xid, CancellationToken cancellationToken = default)
    {
        if (State.Find(xid) is not { } session)
        {
            return null;
        }
        await session.Gate.WaitAsync(cancellationToken);
        return new InProcessSessionScope(this, session);
    }

    public Task<IReadOnlyList<GlobalSession>> ListAsync(TransactionQuery query) =>
        Task.FromResult<IReadOnlyList<GlobalSession>>(State.Sessions.Where(query.Matches).OrderBy(s => s.Sequence).Take(query.Limit).ToList());

    public Task<StoreCounts> CountAsync() =>
        Task.FromResult(new StoreCounts(State.Sessions.GroupBy(s => s.Status).ToDictionary(g => g.Key, g => g.LongCount()), State.Locks.Count));

    public Task<LockConflictInfo?> CheckLocksAsync(LockKeyId[] keys, string? xid) => Task.FromResult(State.Locks.Check(keys, xid));

    // The lock table is in this process: it says when the key is released.
    public async Task WaitForReleaseAsync(LockKeyId key, TimeSpan atMost, CancellationToken cancellationToken)
    {
        var released = State.Locks.WhenReleased(key);
        if (!released.IsCompleted)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(atMost, stop.Token);
            await Task.WhenAny(released, delay).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    public Task<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>> LocksOfAsync(GlobalSession session)
    {
        var locks = new List<KeyValuePair<LockKeyId, LockHolder>>();
        foreach (var branch in session.Branches())
        {
            if (!branch.LocksHeld)
            {
                continue;
            }
            foreach (var key in branch.LockKeys)
            {
                if (State.Locks.HolderOf(key) is { } holder && ReferenceEquals(holder, branch.Holder))
                {
                    locks.Add(new(key, holder));
                }
            }
        }
        return Task.FromResult<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>>(locks);
    }

    public Task<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>> ListLocksAsync(LockQuery query) =>
        Task.FromResult<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>>(State.Locks.Snapshot()
            .Where(query.Matches)
            .OrderBy(LockListCursor.Of)
            .Take(query.Limit)
            .ToList());

    public Task<IReadOnlyList<string>> FindTimedOutAsync(long nowUnixMs) =>
        Task.FromResult<IReadOnlyList<string>>(State.UnendedSessions
            .Where(s => s.Status == Protocol.V1.GlobalStatus.Begin && nowUnixMs >= s.DeadlineUnixMs)
            .Select(s => s.Xid)
            .ToList());

    public Task<IReadOnlyList<string>> FindDuePhaseTwoAsync(long nowUnixMs) =>
        Task.FromResult<IReadOnlyList<string>>(State.UnendedSessions
            .Where(s => GlobalStatusRules.IsPhaseTwoInProgress(s.Status) && s.NextAttemptUnixMs <= nowUnixMs)
            .Select(s => s.Xid)
            .ToList());

    public Task WakeWaitingForAsync(IReadOnlyList<string> resourceIds)
    {
        foreach (var session in State.UnendedSessions)
        {
            if (!GlobalStatusRules.IsPhaseTwoInProgress(session.Status))
            {
                continue;
            }
            foreach (var branch in session.Branches())
            {
                if (!BranchStatusRules.IsDone(branch.Status) && resourceIds.Contains(branch.ResourceId))
                {
                    session.NextAttemptUnixMs = 0;
                    break;
                }
            }
        }
        return Task.CompletedTask;
    }

    public async Task PurgeEndedAsync(long lastUpdateBeforeUnixMs)
    {
        // Oldest first; the first one still within its retention stops the pass (the order is
        // that of ending, so later ones are younger but for clock skew between callers).
        while (State.TryPeekEnded(out var session))
        {
            if (State.Find(session.Xid) is { } current && ReferenceEquals(current, session))
            {
                if (session.LastUpdateUnixMs > lastUpdateBeforeUnixMs)
                {
                    return;
                }
                await session.Gate.WaitAsync();
                try
                {
                    if (ReferenceEquals(State.Find(session.Xid), session) && GlobalStatusRules.IsEnded(session.Status))
                    {
                        State.Purge(session.Xid);
                    }
                }
                finally
                {
                    session.Gate.Release();
                }
            }
            State.DequeueEnded(session);
        }
    }

    public Task<GlobalSession?> ClaimPhaseTwoAsync(string xid, long? dueByUnixMs)
    {
        // One coordinator owns the store: its phase-2 driver runs one attempt per transaction at a time.
        if (State.Find(xid) is not { } session || !GlobalStatusRules.IsPhaseTwoInProgress(session.Status)
            || session.NextAttemptUnixMs > (dueByUnixMs ?? long.MaxValue))
        {
            return Task.FromResult<GlobalSession?>(null);
        }
        session.Attempts++;
        return Task.FromResult<GlobalSession?>(session);
    }

    public Task<bool> RenewClaimAsync(string xid) => Task.FromResult(true);

    public Task ReleaseClaimAsync(string xid) => Task.CompletedTask;

    /// <summary>How many reservation records this store has written since it was opened (for tests).</summary>
    internal long Reservations => Interlocked.Read(ref _reservations);

    public async Task BeginAsync(GlobalBegun begun)
    {
        var reservation = ReservationCovering(begun.Sequence);
        if (begun.Sequence > State.ReservedTransactionSequence)
        {
            // Not handed out before it is reserved durably: after a crash the counter resumes above it.
            await reservation;
        }
        // Nothing depends on a begin alone: the transaction's first registration or decision is
        // written after it and waits for both, so the begin need not wait for a flush of its own.
        await PersistWithNextAsync(new StoreRecord { GlobalBegun = begun }, () => State.ApplyBegun(begun));
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

    /// <summary>
    /// The newest reservation asked for, after asking for the next block when fewer than half a
    /// block of reserved sequences are left above <paramref name="sequence"/>. Reservations are
    /// written in order, so once the newest is durable every earlier one is.
    /// </summary>
    private Task ReservationCovering(long sequence)
    {
        lock (_reservationGate)
        {
            if (sequence + SequenceReservation / 2 > _reservationRequestedUpTo)
            {
                var upTo = sequence + SequenceReservation;
                _reservationRequestedUpTo = upTo;
                Interlocked.Increment(ref _reservations);
                _latestReservation = PersistAsync(
                    new StoreRecord { Counters = new CountersSnapshot { LastTransactionSequence = upTo, LastBranchId = State.LastBranchId } },
                    () => State.Reserve(upTo));
            }
            return _latestReservation;
        }
    }

    /// <summary>
    /// At a clean shutdown, once nothing can begin any more: records the last sequence actually
    /// handed out, so the next start resumes right after it instead of above the reservation.
    /// </summary>
    protected Task ReleaseReservationAsync()
    {
        var last = State.LastTransactionSequence;
        return PersistAsync(
            new StoreRecord { Counters = new CountersSnapshot { LastTransactionSequence = last, LastBranchId = State.LastBranchId, ReservationReleased = true } },
            () => State.ReleaseReservation(last));
    }

    public Task AppendAsync(StoreRecord record)
    {
        // An intervention's audit entry gets its id here, so the durable record carries it.
        var intervention = record.GlobalStatusChanged?.Intervention ?? record.BranchStatusChanged?.Intervention;
        if (intervention is { Id: 0 })
        {
            intervention.Id = State.Interventions.NextId();
        }
        return PersistAsync(record, () => State.Apply(record));
    }

    public Task<IReadOnlyList<Intervention>> ListInterventionsAsync(string xid, long beforeId, int limit) =>
        Task.FromResult<IReadOnlyList<Intervention>>(State.Interventions.List(xid, beforeId, limit));

    // Memory at once; the log drops them at its next compaction.
    public Task ExpireInterventionsAsync(long atUnixMs)
    {
        State.Interventions.ExpireBefore(atUnixMs);
        return Task.CompletedTask;
    }

    /// <summary>Applies <paramref name="record"/> at once; it is made durable with the next records, without waiting for it.</summary>
    public Task AppendWithNextAsync(StoreRecord record) => PersistWithNextAsync(record, () => State.Apply(record));

    /// <summary>Forgets an ended transaction after its retention (no durable record is needed).</summary>
    public Task PurgeAsync(string xid)
    {
        State.Purge(xid);
        return Task.CompletedTask;
    }

    public abstract ValueTask DisposeAsync();
}
