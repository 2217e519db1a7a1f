using System.Collections.Concurrent;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// The state every record is applied to, in the order the records became durable: sessions,
/// branches, history, locks and id counters. Replaying a log through <see cref="Apply"/>
/// rebuilds exactly the state the records describe, locks included.
/// </summary>
/// <remarks>
/// Besides every session, two indexes keep the background loop's work proportional to what is
/// under way rather than to the ended transactions kept for their retention (at the default one
/// minute, hundreds of thousands at a few thousand transactions a second): the sessions not
/// ended yet, and the ended ones in the order they ended.
/// </remarks>
internal sealed class CoordinatorState
{
    private readonly ConcurrentDictionary<string, GlobalSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GlobalSession> _unended = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<GlobalSession> _ended = new();
    private long _lastSequence;
    private long _lastBranchId;
    private long _reservedSequence;

    public LockTable Locks { get; } = new();

    /// <summary>The interventions recorded, kept for their own retention.</summary>
    public InterventionAudit Interventions { get; } = new();

    /// <summary>Where the time a branch held its locks is recorded when they are let go of; none when null.</summary>
    public CoordinatorMetrics? Metrics { get; set; }

    public ICollection<GlobalSession> Sessions => _sessions.Values;

    /// <summary>The sessions not ended yet: undecided, in phase 2, or stopped for a person.</summary>
    public ICollection<GlobalSession> UnendedSessions => _unended.Values;

    /// <summary>The session that ended first among those not purged yet (it may have been purged another way since).</summary>
    public bool TryPeekEnded(out GlobalSession session) => _ended.TryPeek(out session!);

    /// <summary>Takes <paramref name="session"/> off the ended order when it is still first.</summary>
    public void DequeueEnded(GlobalSession session)
    {
        if (_ended.TryPeek(out var first) && ReferenceEquals(first, session))
        {
            _ended.TryDequeue(out _);
        }
    }

    public long LastTransactionSequence => Interlocked.Read(ref _lastSequence);

    public long LastBranchId => Interlocked.Read(ref _lastBranchId);

    public long NextTransactionSequence() => Interlocked.Increment(ref _lastSequence);

    /// <summary>
    /// The highest transaction sequence a durable record has reserved. A sequence is handed out only
    /// when reserved, so after a crash the counter resumes above every XID ever answered — even one
    /// whose begin record had not been flushed yet.
    /// </summary>
    public long ReservedTransactionSequence => Interlocked.Read(ref _reservedSequence);

    /// <summary>Raises the reservation once its record is durable (live; replay raises the counter instead).</summary>
    public void Reserve(long upTo) => RaiseTo(ref _reservedSequence, upTo);

    /// <summary>
    /// Lowers the reservation to <paramref name="last"/>, the last sequence handed out, at a clean
    /// shutdown: a compaction after it then keeps the exact counter too.
    /// </summary>
    public void ReleaseReservation(long last) => Interlocked.Exchange(ref _reservedSequence, last);

    public long NextBranchId() => Interlocked.Increment(ref _lastBranchId);

    public GlobalSession? Find(string xid) => _sessions.GetValueOrDefault(xid);

    /// <summary>Applies a record read back from the store (recovery): locks are restored from branch records.</summary>
    public void Apply(StoreRecord record)
    {
        switch (record.KindCase)
        {
            case StoreRecord.KindOneofCase.GlobalBegun:
                ApplyBegun(record.GlobalBegun);
                break;
            case StoreRecord.KindOneofCase.BranchRegistered:
                var registered = record.BranchRegistered;
                var keys = ToKeys(registered);
                var holder = HolderOf(registered);
                if (ApplyBranchRegistered(registered, keys, holder))
                {
                    Locks.Restore(keys, holder);
                }
                break;
            case StoreRecord.KindOneofCase.BranchStatusChanged:
                ApplyBranchStatusChanged(record.BranchStatusChanged);
                AddIntervention(record.BranchStatusChanged.Intervention);
                break;
            case StoreRecord.KindOneofCase.GlobalStatusChanged:
                ApplyGlobalStatusChanged(record.GlobalStatusChanged);
                AddIntervention(record.GlobalStatusChanged.Intervention);
                break;
            case StoreRecord.KindOneofCase.Intervention:
                AddIntervention(record.Intervention);
                break;
            case StoreRecord.KindOneofCase.SessionSnapshot:
                ApplySnapshot(record.SessionSnapshot);
                break;
            case StoreRecord.KindOneofCase.Counters when record.Counters.ReservationReleased:
                // Written at a clean shutdown after every begin: the exact last sequence, below the reservations before it.
                Interlocked.Exchange(ref _lastSequence, record.Counters.LastTransactionSequence);
                RaiseTo(ref _lastBranchId, record.Counters.LastBranchId);
                Interventions.RaiseLastId(record.Counters.LastInterventionId);
                break;
            case StoreRecord.KindOneofCase.Counters:
                RaiseTo(ref _lastSequence, record.Counters.LastTransactionSequence);
                RaiseTo(ref _lastBranchId, record.Counters.LastBranchId);
                Interventions.RaiseLastId(record.Counters.LastInterventionId);
                break;
            default:
                throw new InvalidDataException($"Unknown store record kind {record.KindCase}.");
        }
    }

    private void AddIntervention(Intervention? entry)
    {
        if (entry is not null)
        {
            Interventions.Add(entry);
        }
    }

    public void ApplyBegun(GlobalBegun begun)
    {
        RaiseTo(ref _lastSequence, begun.Sequence);
        var session = new GlobalSession(begun.Xid, begun.Sequence, begun.Name, begun.ApplicationId, begun.BeginTimeUnixMs, begun.TimeoutMs);
        if (_sessions.TryAdd(begun.Xid, session))
        {
            _unended.TryAdd(begun.Xid, session);
        }
    }

    /// <summary>Adds the branch to its session; the caller has acquired (or will restore) its locks.</summary>
    /// <returns>False when the session is unknown (purged), so no lock must be held for it.</returns>
    public bool ApplyBranchRegistered(BranchRegistered registered, LockKeyId[] keys, LockHolder holder)
    {
        RaiseTo(ref _lastBranchId, registered.BranchId);
        if (Find(registered.Xid) is not { } session)
        {
            return false;
        }
        lock (session)
        {
            SessionMutation.AddBranch(session, registered, keys, holder);
        }
        return true;
    }

    private void ApplyBranchStatusChanged(BranchStatusChanged changed)
    {
        if (Find(changed.Xid) is not { } session)
        {
            return;
        }
        lock (session)
        {
            if (SessionMutation.ApplyBranchStatusChanged(session, changed) is { } released)
            {
                ReleaseBranchLocks(session, released);
            }
        }
    }

    private void ApplyGlobalStatusChanged(GlobalStatusChanged changed)
    {
        if (Find(changed.Xid) is not { } session)
        {
            return;
        }
        lock (session)
        {
            var wasEnded = GlobalStatusRules.IsEnded(session.Status);
            // Status reads take no lock: release the locks before the new status can be seen, so a
            // caller told "rolled back" or "committed" never still finds the transaction's locks.
            if (GlobalStatusRules.ReleasesLocks(changed.To))
            {
                ReleaseAllLocks(session);
            }
            var turnsToRollback = GlobalStatusRules.IsRollbackDirection(changed.To) && !GlobalStatusRules.IsRollbackDirection(session.Status);
            SessionMutation.ApplyGlobalStatusChanged(session, changed);
            if (turnsToRollback)
            {
                // A waiter for one of its rows may hold that row in its own local transaction, which this
                // rollback must restore: wake it now (the status is visible) so it gives way, instead of
                // after its wait. Waiters on a shared store are woken by the store's own means.
                NudgeWaiters(session);
            }
            if (!wasEnded && GlobalStatusRules.IsEnded(session.Status))
            {
                MarkEnded(session);
            }
        }
    }

    // Caller holds the session's monitor.
    private void NudgeWaiters(GlobalSession session)
    {
        foreach (var branch in session.BranchesUnsafe)
        {
            if (branch.LocksHeld)
            {
                Locks.Nudge(branch.LockKeys);
            }
        }
    }

    // Caller holds the session's monitor.
    private void MarkEnded(GlobalSession session)
    {
        foreach (var branch in session.BranchesUnsafe)
        {
            branch.ForgetKeys();
        }
        _unended.TryRemove(session.Xid, out _);
        _ended.Enqueue(session);
    }

    /// <summary>
    /// Forgets an ended transaction. Not logged: its records stay in the log until the next
    /// compaction leaves them out, and a restart before that shows it again until the next purge.
    /// </summary>
    public void Purge(string xid)
    {
        if (_sessions.TryRemove(xid, out var session))
        {
            _unended.TryRemove(xid, out _);
            lock (session)
            {
                ReleaseAllLocks(session);
            }
        }
    }

    private void ApplySnapshot(SessionSnapshot snapshot)
    {
        ApplyBegun(snapshot.Begun);
        var session = Find(snapshot.Begun.Xid)!;
        lock (session)
        {
            session.Status = snapshot.Status;
            session.LastUpdateUnixMs = snapshot.LastUpdateUnixMs;
            session.TimedOut = snapshot.TimedOut;
            session.PhaseTwoSinceUnixMs = snapshot.PhaseTwoSinceUnixMs != 0 ? snapshot.PhaseTwoSinceUnixMs : snapshot.LastUpdateUnixMs;
            foreach (var entry in snapshot.History)
            {
                session.HistoryUnsafe.Add(new TransitionEntry(entry.AtUnixMs, entry.From, entry.To, entry.Reason, entry.Actor));
            }
            foreach (var saved in snapshot.Branches)
            {
                RaiseTo(ref _lastBranchId, saved.Registered.BranchId);
                var keys = ToKeys(saved.Registered);
                var branch = new BranchSession(saved.Registered.BranchId, saved.Registered.ResourceId, saved.Registered.ApplicationId,
                    saved.Registered.RegisteredUnixMs, keys, HolderOf(saved.Registered))
                {
                    Status = saved.Status,
                    LastError = saved.LastError,
                    LocksHeld = saved.LocksHeld,
                    Forgotten = saved.Forgotten,
                };
                session.BranchesUnsafe.Add(branch);
                if (branch.LocksHeld)
                {
                    Locks.Restore(keys, branch.Holder);
                }
            }
            if (GlobalStatusRules.IsEnded(session.Status))
            {
                MarkEnded(session);
            }
        }
    }

    /// <summary>The record that recreates <paramref name="session"/> as it is now (for compaction).</summary>
    public static StoreRecord SnapshotOf(GlobalSession session)
    {
        lock (session)
        {
            var snapshot = new SessionSnapshot
            {
                Begun = new GlobalBegun
                {
                    Xid = session.Xid,
                    Sequence = session.Sequence,
                    Name = session.Name,
                    ApplicationId = session.ApplicationId,
                    BeginTimeUnixMs = session.BeginTimeUnixMs,
                    TimeoutMs = session.TimeoutMs,
                },
                Status = session.Status,
                LastUpdateUnixMs = session.LastUpdateUnixMs,
                TimedOut = session.TimedOut,
                PhaseTwoSinceUnixMs = session.PhaseTwoSinceUnixMs,
            };
            foreach (var entry in session.HistoryUnsafe)
            {
                snapshot.History.Add(new HistoryEntry { AtUnixMs = entry.AtUnixMs, From = entry.From, To = entry.To, Reason = entry.Reason, Actor = entry.Actor });
            }
            foreach (var branch in session.BranchesUnsafe)
            {
                var registered = new BranchRegistered
                {
                    Xid = session.Xid,
                    BranchId = branch.BranchId,
                    ResourceId = branch.ResourceId,
                    ApplicationId = branch.ApplicationId,
                    RegisteredUnixMs = branch.RegisteredUnixMs,
                    ResourceIdentity = branch.ResourceIdentity,
                    RequestId = branch.RequestId,
                };
                foreach (var key in branch.LockKeys)
                {
                    registered.LockKeys.Add(new LockKey { Table = key.Table, PrimaryKey = key.PrimaryKey });
                }
                snapshot.Branches.Add(new BranchSnapshot
                {
                    Registered = registered,
                    Status = branch.Status,
                    LastError = branch.LastError,
                    LocksHeld = branch.LocksHeld,
                    Forgotten = branch.Forgotten,
                });
            }
            return new StoreRecord { SessionSnapshot = snapshot };
        }
    }

    public static LockKeyId[] ToKeys(BranchRegistered registered)
    {
        var keys = new LockKeyId[registered.LockKeys.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = new LockKeyId(registered.ResourceId, registered.LockKeys[i].Table, registered.LockKeys[i].PrimaryKey);
        }
        return keys;
    }

    public static LockHolder HolderOf(BranchRegistered registered) =>
        new(registered.Xid, registered.BranchId, registered.ApplicationId, registered.RegisteredUnixMs);

    // Caller holds the session's monitor.
    private void ReleaseAllLocks(GlobalSession session)
    {
        foreach (var branch in SessionMutation.LetGoAll(session))
        {
            Locks.ReleaseTransaction(branch.LockKeys, session.Xid);
            RecordHold(branch);
        }
    }

    // Caller holds the session's monitor. Keys another live branch of the transaction also
    // registered stay held, passed on to that branch.
    private void ReleaseBranchLocks(GlobalSession session, BranchSession branch)
    {
        var others = SessionMutation.LetGo(session, branch);
        Locks.ReleaseBranch(branch.LockKeys, branch.Holder, key => others?.GetValueOrDefault(key));
        RecordHold(branch);
    }

    private void RecordHold(BranchSession branch)
    {
        if (branch.LockKeys.Length > 0)
        {
            Metrics?.LocksReleased(branch.ResourceId, branch.Holder.AcquiredTimestamp);
        }
    }

    private static void RaiseTo(ref long field, long value)
    {
        var current = Interlocked.Read(ref field);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref field, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
