using System.Threading.Channels;
using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;
using Google.Protobuf;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// One lane of the coordinator's group commit on the shared store (<see cref="PostgresGroupCommit"/>):
/// a loop that takes every change waiting (<see cref="PostgresWrite"/>), writes them in one
/// database transaction on its own connection, and only then completes their tasks, so no reply
/// leaves before its change committed. Usually every change's condition holds, and the batch is
/// written in one round trip: the statements below, with a guard statement in place of the
/// judging that fails the database transaction unless every condition holds. When the guard
/// fails (a key held by another transaction, another coordinator's change), the batch is rolled
/// back and judged change by change in two round trips:
/// <list type="number">
/// <item>Round trip one: <c>BEGIN</c>; every registration's keys in one insert, in one key order for
/// everyone (<c>ON CONFLICT DO NOTHING</c>); the changed sessions' rows locked in XID order; the keys
/// that ended up with another transaction. Locks taken in one order by every writer: no deadlock
/// between lanes or coordinators.</item>
/// <item>Here: each change's condition is judged (its session's version unchanged, or still BEGIN for
/// a registration; all its keys its own).</item>
/// <item>Round trip two: the keys of refused registrations taken back, the rows of every accepted
/// change (one statement per table), the versions bumped, the wake-ups (<c>pg_notify</c>,
/// delivered at commit), <c>COMMIT</c>.</item>
/// </list>
/// A batch holds at most one change per transaction and one claim per key; the rest wait for the
/// lane's next batch, so each condition is judged alone.
/// </summary>
internal sealed class PostgresWriter : IAsyncDisposable
{
    private const int MaxBatch = 512;
    private const int MaxBatchTries = 5;
    private const int MaxRegistrationTries = 10;

    private static readonly string[] RetryableStates = [PostgresErrorCodes.DeadlockDetected, PostgresErrorCodes.SerializationFailure];

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly PostgresLockStatements _locks;
    private readonly PostgresNotifications _notifications;
    private readonly PostgresStoreStatistics _statistics;
    private readonly string _instanceId;
    private readonly long _leaseMs;
    private readonly bool _waitsForFlush;
    private readonly ChannelReader<PostgresWrite> _queue;
    private readonly List<PostgresWrite> _carried = [];
    private readonly Task _loop;
    private NpgsqlConnection? _connection;

    public PostgresWriter(
        ChannelReader<PostgresWrite> queue, NpgsqlDataSource dataSource, string schema, PostgresLockStatements locks, string instanceId, long leaseMs,
        PostgresNotifications notifications, PostgresStoreStatistics statistics, bool waitsForFlush)
    {
        _locks = locks;
        _queue = queue;
        _waitsForFlush = waitsForFlush;
        _instanceId = instanceId;
        _leaseMs = leaseMs;
        _dataSource = dataSource;
        _schema = schema;
        _notifications = notifications;
        _statistics = statistics;
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var reader = _queue;
        while (_carried.Count > 0 || await reader.WaitToReadAsync())
        {
            var batch = Take(reader);
            await WriteWithRetriesAsync(batch);
        }
    }

    private List<PostgresWrite> Take(ChannelReader<PostgresWrite> reader)
    {
        var batch = new List<PostgresWrite>();
        var xids = new HashSet<string>(StringComparer.Ordinal);
        var keys = new HashSet<LockKeyId>();
        var carried = _carried.ToArray();
        _carried.Clear();
        foreach (var write in carried)
        {
            Add(write);
        }
        while (batch.Count < MaxBatch && reader.TryRead(out var write))
        {
            Add(write);
        }
        return batch;

        void Add(PostgresWrite write)
        {
            var registration = write.Registration;
            if (xids.Contains(write.Xid) || (registration is not null && registration.Keys.Any(keys.Contains)))
            {
                _carried.Add(write);
                return;
            }
            xids.Add(write.Xid);
            if (registration is not null)
            {
                keys.UnionWith(registration.Keys);
            }
            batch.Add(write);
        }
    }

    private async Task WriteWithRetriesAsync(List<PostgresWrite> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await WriteAsync(batch);
                _statistics.Metrics?.StoreWritten("postgres", started);
                return;
            }
            catch (PostgresException ex) when (RetryableStates.Contains(ex.SqlState) && attempt < MaxBatchTries)
            {
                // Another writer's transaction and this one waited for each other: the database rolled this one back.
                await RollBackQuietlyAsync();
            }
            catch (Exception ex)
            {
                await DropConnectionAsync();
                var failure = new StoreUnavailableException($"The PostgreSQL store could not record the change: {ex.Message}", ex);
                foreach (var write in batch)
                {
                    write.Done.TrySetException(failure);
                }
                return;
            }
        }
    }

    private async Task WriteAsync(List<PostgresWrite> batch)
    {
        var connection = _connection ??= await OpenAsync();
        if (!await TryWriteAtOnceAsync(connection, batch))
        {
            await WriteJudgedAsync(connection, batch);
        }
    }

    // The common case in one round trip: round trip one's statements, a guard that fails the
    // database transaction unless every change's condition holds (then nothing of it stays), the
    // rows of every change and COMMIT. False when the guard failed: the batch is then judged change
    // by change (WriteJudgedAsync), which refuses only the changes whose condition does not hold.
    private async Task<bool> TryWriteAtOnceAsync(NpgsqlConnection connection, List<PostgresWrite> batch)
    {
        var registrations = batch.Where(w => w.Registration is not null).ToList();
        var changed = batch.Where(w => !w.IsBegin).ToList();
        var sessions = new Dictionary<string, (long Version, GlobalStatus Status)>(StringComparer.Ordinal);
        var guard = changed.Count > 0 ? Guard(changed, registrations) : null;
        await using (var all = new NpgsqlBatch(connection))
        {
            AddBegin(all);
            if (registrations.Count > 0)
            {
                all.BatchCommands.Add(AcquireKeys(registrations));
            }
            if (guard is not null)
            {
                all.BatchCommands.Add(LockSessions([.. changed.Select(w => w.Xid)]));
                all.BatchCommands.Add(guard);
            }
            AddRows(all, batch);
            AddNotifications(all, batch);
            all.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            _statistics.RoundTrip(all.BatchCommands.Count);
            try
            {
                await using var reader = await all.ExecuteReaderAsync();
                if (guard is not null)
                {
                    while (await reader.ReadAsync())
                    {
                        sessions[reader.GetString(0)] = (reader.GetInt64(1), (GlobalStatus)reader.GetInt32(2));
                    }
                }
                // The guard's result, the notifications', and any error of a statement after them.
                while (await reader.NextResultAsync())
                {
                }
            }
            catch (PostgresException ex) when (guard is not null && ex.SqlState == PostgresErrorCodes.DivisionByZero)
            {
                // The database skipped everything after the guard; its transaction is aborted.
                await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
                _statistics.RoundTrip(1);
                await rollback.ExecuteNonQueryAsync();
                _statistics.Judged();
                return false;
            }
            finally
            {
                // The commands belong to their writes; a batch tried again adds them to a new one.
                all.BatchCommands.Clear();
            }
        }
        Complete(batch, sessions, [], []);
        return true;
    }

    // Round trip one looks (sessions, keys held elsewhere); each change is judged here; round trip
    // two writes the accepted ones and refuses the rest.
    private async Task WriteJudgedAsync(NpgsqlConnection connection, List<PostgresWrite> batch)
    {
        var registrations = batch.Where(w => w.Registration is not null).ToList();
        var changed = batch.Where(w => !w.IsBegin).Select(w => w.Xid).ToArray();

        var sessions = new Dictionary<string, (long Version, GlobalStatus Status)>(StringComparer.Ordinal);
        var problems = new Dictionary<PostgresWrite, LockConflictInfo?>();
        await using (var first = new NpgsqlBatch(connection))
        {
            AddBegin(first);
            if (registrations.Count > 0)
            {
                first.BatchCommands.Add(AcquireKeys(registrations));
            }
            if (changed.Length > 0)
            {
                first.BatchCommands.Add(LockSessions(changed));
            }
            if (registrations.Count > 0)
            {
                first.BatchCommands.Add(KeysHeldElsewhere(registrations));
            }
            _statistics.RoundTrip(first.BatchCommands.Count);
            await using var reader = await first.ExecuteReaderAsync();
            if (changed.Length > 0)
            {
                while (await reader.ReadAsync())
                {
                    sessions[reader.GetString(0)] = (reader.GetInt64(1), (GlobalStatus)reader.GetInt32(2));
                }
                await reader.NextResultAsync();
            }
            if (registrations.Count > 0)
            {
                while (await reader.ReadAsync())
                {
                    var write = registrations[reader.GetInt32(0)];
                    if (!problems.ContainsKey(write))
                    {
                        var key = new LockKeyId(write.Registration!.Record.ResourceId, reader.GetString(1), reader.GetString(2));
                        // No holder: it let go between the insert and this look; the registration is tried again.
                        problems[write] = reader.IsDBNull(3)
                            ? null
                            : new LockConflictInfo(key, new LockHolder(reader.GetString(3), reader.GetInt64(4), reader.GetString(5), reader.GetInt64(6)));
                    }
                }
            }
        }

        var outcomes = new Dictionary<PostgresWrite, PostgresWriteOutcome>();
        var accepted = new List<PostgresWrite>();
        var again = new List<PostgresWrite>();
        foreach (var write in batch)
        {
            if (Refusal(write, sessions) is { } refusal)
            {
                outcomes[write] = new PostgresWriteOutcome(false, Refusal: refusal);
            }
            else if (problems.TryGetValue(write, out var conflict))
            {
                if (conflict is not null)
                {
                    outcomes[write] = new PostgresWriteOutcome(false, Conflict: conflict);
                }
                else if (++write.Tries >= MaxRegistrationTries)
                {
                    outcomes[write] = new PostgresWriteOutcome(false, Refusal: $"its keys kept changing hands ({write.Tries} tries)");
                }
                else
                {
                    again.Add(write);
                }
            }
            else
            {
                accepted.Add(write);
            }
        }

        await using (var second = new NpgsqlBatch(connection))
        {
            var acceptedSet = accepted.ToHashSet();
            if (accepted.Count == 0)
            {
                second.BatchCommands.Add(new NpgsqlBatchCommand("ROLLBACK")); // nothing to keep, refused keys included
            }
            else
            {
                var refusedRegistrations = registrations.Where(w => !acceptedSet.Contains(w)).ToArray();
                if (refusedRegistrations.Length > 0)
                {
                    second.BatchCommands.Add(new NpgsqlBatchCommand(_locks.Withdraw(
                        "USING unnest($1::text[], $2::bigint[]) AS f(xid, branch_id) WHERE l.xid = f.xid AND l.branch_id = f.branch_id"))
                    {
                        Parameters =
                        {
                            new() { Value = refusedRegistrations.Select(w => w.Xid).ToArray() },
                            new() { Value = refusedRegistrations.Select(w => w.Registration!.Record.BranchId).ToArray() },
                        },
                    });
                }
                AddRows(second, accepted);
                AddNotifications(second, accepted);
                second.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            }
            _statistics.RoundTrip(second.BatchCommands.Count);
            try
            {
                await second.ExecuteNonQueryAsync();
            }
            finally
            {
                // The commands belong to their writes; a batch tried again adds them to a new one.
                second.BatchCommands.Clear();
            }
        }
        Complete(accepted, sessions, outcomes, again);
    }

    // After the commit: the accepted changes' callers learn their new version, the refused ones why.
    private void Complete(
        List<PostgresWrite> accepted, Dictionary<string, (long Version, GlobalStatus Status)> sessions,
        Dictionary<PostgresWrite, PostgresWriteOutcome> refused, List<PostgresWrite> again)
    {
        _statistics.Committed(accepted.Count, _waitsForFlush);
        Diagnostics.CrashPoints.Reach(Diagnostics.CrashPoints.StoreBatchCommitted);

        if (accepted.Any(w => w.ReleasesLocks))
        {
            _notifications.SignalLocksReleased();
        }
        foreach (var write in accepted)
        {
            // The row was locked from the look to the commit: the bump made it exactly one more.
            write.Done.TrySetResult(new PostgresWriteOutcome(true, Version: write.IsBegin ? 0 : sessions[write.Xid].Version + 1));
        }
        foreach (var (write, outcome) in refused)
        {
            write.Done.TrySetResult(outcome);
        }
        _carried.AddRange(again);
    }

    // The with-next lane's COMMIT returns once the commit record is in the WAL buffers, not flushed
    // (see PostgresWrite.DurableWithNext); the other lanes' wait for the flush as configured.
    private void AddBegin(NpgsqlBatch batch)
    {
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        if (!_waitsForFlush)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
        }
    }

    // The wake-ups of the other coordinators, delivered when the batch commits.
    private void AddNotifications(NpgsqlBatch batch, List<PostgresWrite> accepted)
    {
        if (_notifications.CanNotify)
        {
            if (accepted.Any(w => w.ReleasesLocks))
            {
                batch.BatchCommands.Add(_notifications.NotifyLocksReleased());
            }
            if (accepted.Any(w => w.MakesPhaseTwoDue))
            {
                batch.BatchCommands.Add(_notifications.NotifyPhaseTwoDue());
            }
        }
    }

    // The changed sessions' rows, locked in XID order (one order for every writer: no deadlock), with their versions.
    private NpgsqlBatchCommand LockSessions(string[] xids) =>
        new($"SELECT xid, version, status FROM {_schema}.global_session WHERE xid = ANY($1) ORDER BY xid FOR UPDATE") { Parameters = { new() { Value = xids } } };

    // Fails with division by zero (which no other statement of a batch can raise) unless every change's
    // condition holds, as Refusal and KeysHeldElsewhere judge them: its session is there, at the
    // version its scope read (a registration: still BEGIN), and every key registered is held by
    // its own transaction. Run after the sessions are locked and the keys inserted, in a snapshot
    // of its own: what it sees stays so until the commit.
    private NpgsqlBatchCommand Guard(List<PostgresWrite> changed, List<PostgresWrite> registrations)
    {
        var keys = registrations.SelectMany(w => w.Registration!.Keys.Select(k => (Write: w, Key: k))).ToArray();
        return new NpgsqlBatchCommand($"""
            SELECT 1 / (NOT EXISTS (
                    SELECT FROM unnest($1::text[], $2::boolean[], $3::bigint[]) AS c(xid, needs_begin, expected)
                    LEFT JOIN {_schema}.global_session g ON g.xid = c.xid
                    WHERE g.xid IS NULL OR CASE WHEN c.needs_begin THEN g.status <> {(int)GlobalStatus.Begin} ELSE g.version <> c.expected END)
                AND NOT EXISTS (
                    SELECT FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS k(r, t, p, x)
                    LEFT JOIN {_schema}.global_lock l ON l.resource_id = k.r AND l.table_name = k.t AND l.primary_key = k.p
                    WHERE l.xid IS DISTINCT FROM k.x))::int
            """)
        {
            Parameters =
            {
                new() { Value = changed.Select(w => w.Xid).ToArray() },
                new() { Value = changed.Select(w => w.ExpectedVersion is null).ToArray() },
                new() { Value = changed.Select(w => w.ExpectedVersion ?? 0L).ToArray() },
                new() { Value = keys.Select(k => k.Key.ResourceId).ToArray() },
                new() { Value = keys.Select(k => k.Key.Table).ToArray() },
                new() { Value = keys.Select(k => k.Key.PrimaryKey).ToArray() },
                new() { Value = keys.Select(k => k.Write.Xid).ToArray() },
            },
        };
    }

    // The rows of every accepted change, one statement per kind of row. Every row belongs to a
    // transaction whose session row this batch holds (or a new one): nothing here waits on another writer.
    private void AddRows(NpgsqlBatch batch, List<PostgresWrite> accepted)
    {
        var begun = accepted.Where(w => w.Begun is not null).Select(w => w.Begun!).ToArray();
        if (begun.Length > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                INSERT INTO {_schema}.global_session (xid, sequence, name, application_id, begin_time_unix_ms, timeout_ms, status, last_update_unix_ms)
                SELECT x, q, n, a, b, t, {(int)GlobalStatus.Begin}, b
                FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) AS s(x, q, n, a, b, t)
                """)
            {
                Parameters =
                {
                    new() { Value = begun.Select(b => b.Xid).ToArray() },
                    new() { Value = begun.Select(b => b.Sequence).ToArray() },
                    new() { Value = begun.Select(b => b.Name).ToArray() },
                    new() { Value = begun.Select(b => b.ApplicationId).ToArray() },
                    new() { Value = begun.Select(b => b.BeginTimeUnixMs).ToArray() },
                    new() { Value = begun.Select(b => (long)b.TimeoutMs).ToArray() },
                },
            });
        }

        var registered = accepted.Where(w => w.Registration is not null).Select(w => w.Registration!.Record).ToArray();
        if (registered.Length > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                INSERT INTO {_schema}.branch_session (xid, branch_id, resource_id, application_id, registered_unix_ms, status, locks_held, registration)
                SELECT x, b, r, a, t, {(int)BranchStatus.Registered}, true, g
                FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bytea[]) AS n(x, b, r, a, t, g)
                """)
            {
                Parameters =
                {
                    new() { Value = registered.Select(r => r.Xid).ToArray() },
                    new() { Value = registered.Select(r => r.BranchId).ToArray() },
                    new() { Value = registered.Select(r => r.ResourceId).ToArray() },
                    new() { Value = registered.Select(r => r.ApplicationId).ToArray() },
                    new() { Value = registered.Select(r => r.RegisteredUnixMs).ToArray() },
                    new() { Value = registered.Select(r => r.ToByteArray()).ToArray() },
                },
            });
        }

        // Every changed session's version goes up by one: with its new values, or only touched (a
        // registration). A registration leaves the row's other columns alone, indexed ones included,
        // so the update can stay on its page (HOT): its time counts in the session's last update
        // once read, with its branch row (SessionMutation.AddBranch), as it does in memory.
        var changed = accepted.Where(w => !w.IsBegin).ToArray();
        if (changed.Length > 0)
        {
            var values = changed.Select(w => w.Session).ToArray();
            // An ended transaction keeps no claim: nothing of it is left for another coordinator to take over.
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                UPDATE {_schema}.global_session g SET
                    version = g.version + 1,
                    status = CASE WHEN c.has THEN c.status ELSE g.status END,
                    last_update_unix_ms = CASE WHEN c.has THEN greatest(g.last_update_unix_ms, c.last_update) ELSE g.last_update_unix_ms END,
                    timed_out = CASE WHEN c.has THEN c.timed_out ELSE g.timed_out END,
                    failures_in_a_row = CASE WHEN c.scheduled THEN c.failures ELSE g.failures_in_a_row END,
                    next_attempt_unix_ms = CASE WHEN c.scheduled THEN c.next_attempt ELSE g.next_attempt_unix_ms END,
                    claim_owner = CASE WHEN c.ended THEN NULL WHEN c.claim THEN $11 ELSE g.claim_owner END,
                    claim_expires_unix_ms = CASE WHEN c.ended THEN NULL WHEN c.claim THEN (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $12
                                                 ELSE g.claim_expires_unix_ms END,
                    attempts = CASE WHEN c.claim THEN g.attempts + 1 ELSE g.attempts END,
                    phase_two_since_unix_ms = CASE WHEN c.has THEN c.phase_two_since ELSE g.phase_two_since_unix_ms END
                FROM unnest($1::text[], $2::boolean[], $3::integer[], $4::bigint[], $5::boolean[], $6::boolean[], $7::integer[], $8::bigint[], $9::boolean[], $10::boolean[], $13::bigint[])
                    AS c(xid, has, status, last_update, timed_out, scheduled, failures, next_attempt, ended, claim, phase_two_since)
                WHERE g.xid = c.xid
                """)
            {
                Parameters =
                {
                    new() { Value = changed.Select(w => w.Xid).ToArray() },
                    new() { Value = values.Select(v => v.HasValue).ToArray() },
                    new() { Value = values.Select(v => (int)(v?.Status ?? 0)).ToArray() },
                    new() { Value = values.Select(v => v?.LastUpdateUnixMs ?? 0L).ToArray() },
                    new() { Value = values.Select(v => v?.TimedOut ?? false).ToArray() },
                    new() { Value = values.Select(v => v?.Scheduled ?? false).ToArray() },
                    new() { Value = values.Select(v => v?.FailuresInARow ?? 0).ToArray() },
                    new() { Value = values.Select(v => v?.NextAttemptUnixMs ?? 0L).ToArray() },
                    new() { Value = values.Select(v => v is { } set && GlobalStatusRules.IsEnded(set.Status)).ToArray() },
                    new() { Value = changed.Select(w => w.ClaimsPhaseTwo).ToArray() },
                    new() { Value = _instanceId },
                    new() { Value = _leaseMs },
                    new() { Value = values.Select(v => v?.PhaseTwoSinceUnixMs ?? 0L).ToArray() },
                },
            });
        }

        var branches = accepted.SelectMany(w => w.Branches.Select(b => (w.Xid, Branch: b))).ToArray();
        if (branches.Length > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                UPDATE {_schema}.branch_session b SET status = c.status, last_error = c.last_error, locks_held = c.locks_held, forgotten = c.forgotten
                FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::text[], $5::boolean[], $6::boolean[])
                    AS c(xid, branch_id, status, last_error, locks_held, forgotten)
                WHERE b.xid = c.xid AND b.branch_id = c.branch_id
                """)
            {
                Parameters =
                {
                    new() { Value = branches.Select(b => b.Xid).ToArray() },
                    new() { Value = branches.Select(b => b.Branch.BranchId).ToArray() },
                    new() { Value = branches.Select(b => (int)b.Branch.Status).ToArray() },
                    new() { Value = branches.Select(b => b.Branch.LastError).ToArray() },
                    new() { Value = branches.Select(b => b.Branch.LocksHeld).ToArray() },
                    new() { Value = branches.Select(b => b.Branch.Forgotten).ToArray() },
                },
            });
        }

        var transitions = accepted.SelectMany(w => w.Transitions.Select(t => (w.Xid, Entry: t))).ToArray();
        if (transitions.Length > 0)
        {
            // WITH ORDINALITY keeps each transaction's entries in their order (the identity column orders the history).
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                INSERT INTO {_schema}.transition (xid, at_unix_ms, from_status, to_status, reason, actor)
                SELECT x, t, f, o, r, a
                FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::text[], $6::text[]) WITH ORDINALITY AS e(x, t, f, o, r, a, n)
                ORDER BY n
                """)
            {
                Parameters =
                {
                    new() { Value = transitions.Select(t => t.Xid).ToArray() },
                    new() { Value = transitions.Select(t => t.Entry.AtUnixMs).ToArray() },
                    new() { Value = transitions.Select(t => (int)t.Entry.From).ToArray() },
                    new() { Value = transitions.Select(t => (int)t.Entry.To).ToArray() },
                    new() { Value = transitions.Select(t => t.Entry.Reason).ToArray() },
                    new() { Value = transitions.Select(t => t.Entry.Actor).ToArray() },
                },
            });
        }

        foreach (var write in accepted)
        {
            foreach (var command in write.Commands)
            {
                batch.BatchCommands.Add(command);
            }
        }

        var releasing = accepted.Where(w => w.ReleasesAllLocks).Select(w => w.Xid).ToArray();
        if (releasing.Length > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(_locks.Release("WHERE l.xid = ANY($1)")) { Parameters = { new() { Value = releasing } } });
        }
    }

    private static string? Refusal(PostgresWrite write, Dictionary<string, (long Version, GlobalStatus Status)> sessions)
    {
        if (write.IsBegin)
        {
            return null;
        }
        if (!sessions.TryGetValue(write.Xid, out var session))
        {
            return "it is gone (ended and purged)";
        }
        if (write.ExpectedVersion is { } expected)
        {
            return session.Version == expected ? null : "another coordinator changed it at the same time";
        }
        return session.Status == GlobalStatus.Begin ? null : "its status changed at the same time";
    }

    // Keys held already (by anyone) are left alone and judged by the look that follows.
    private NpgsqlBatchCommand AcquireKeys(List<PostgresWrite> registrations)
    {
        var keys = registrations.SelectMany(w => w.Registration!.Keys.Select(k => (Write: w, Key: k))).ToArray();
        return new NpgsqlBatchCommand(_locks.Acquire())
        {
            Parameters =
            {
                new() { Value = keys.Select(k => k.Key.ResourceId).ToArray() },
                new() { Value = keys.Select(k => k.Key.Table).ToArray() },
                new() { Value = keys.Select(k => k.Key.PrimaryKey).ToArray() },
                new() { Value = keys.Select(k => k.Write.Xid).ToArray() },
                new() { Value = keys.Select(k => k.Write.Registration!.Record.BranchId).ToArray() },
                new() { Value = keys.Select(k => k.Write.Registration!.Record.ApplicationId).ToArray() },
                new() { Value = keys.Select(k => k.Write.Registration!.Record.RegisteredUnixMs).ToArray() },
            },
        };
    }

    // A new snapshot: sees every holder that committed while the insert waited for it. A key of
    // another branch of the same transaction is its own.
    private NpgsqlBatchCommand KeysHeldElsewhere(List<PostgresWrite> registrations)
    {
        var keys = registrations.SelectMany((w, i) => w.Registration!.Keys.Select(k => (Index: i, Write: w, Key: k))).ToArray();
        return new NpgsqlBatchCommand($"""
            SELECT k.w, k.t, k.p, l.xid, l.branch_id, l.application_id, l.acquired_unix_ms
            FROM unnest($1::integer[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(w, r, t, p, x, o)
            LEFT JOIN {_schema}.global_lock l ON l.resource_id = k.r AND l.table_name = k.t AND l.primary_key = k.p
            WHERE l.xid IS DISTINCT FROM k.x
            ORDER BY k.o
            """)
        {
            Parameters =
            {
                new() { Value = keys.Select(k => k.Index).ToArray() },
                new() { Value = keys.Select(k => k.Key.ResourceId).ToArray() },
                new() { Value = keys.Select(k => k.Key.Table).ToArray() },
                new() { Value = keys.Select(k => k.Key.PrimaryKey).ToArray() },
                new() { Value = keys.Select(k => k.Write.Xid).ToArray() },
            },
        };
    }

    // The lock and session tables churn: thousands of dead rows a second between two vacuums. A
    // generic plan made while they were small scans them whole (an XID array looks like many rows);
    // every statement here has an index to go by, so this connection never scans.
    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = await _dataSource.OpenConnectionAsync();
        try
        {
            await using var command = new NpgsqlCommand("SET enable_seqscan = off", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (PostgresException)
        {
            // A PostgreSQL-compatible database without this planner setting plans its own way.
        }
        return connection;
    }

    private async Task RollBackQuietlyAsync()
    {
        try
        {
            if (_connection is not null)
            {
                await using var command = new NpgsqlCommand("ROLLBACK", _connection);
                await command.ExecuteNonQueryAsync();
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            await DropConnectionAsync();
        }
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }

    /// <summary>Once the queue is completed: writes what it still holds, then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _loop;
        await DropConnectionAsync();
    }
}
