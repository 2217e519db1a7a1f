using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;
using Google.Protobuf;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// A transaction held by this coordinator (<see cref="TransactionGates"/>) and read with its
/// version. Changes are applied to <see cref="Session"/> at once and collected; on dispose they
/// go to the group commit (<see cref="PostgresGroupCommit"/>) and are written only if the session's
/// version is still the one read: a scope never overwrites what another coordinator changed
/// meanwhile, and fails with <see cref="StoreConflictException"/> (nothing written) instead. A
/// registration is written at once (its answer depends on the keys), under the weaker condition
/// that the transaction is still BEGIN, so registrations of one transaction on several
/// coordinators do not refuse each other.
/// </summary>
internal sealed class PostgresSessionScope : ISessionScope
{
    private readonly string _schema;
    private readonly PostgresLockStatements _locks;
    private readonly PostgresGroupCommit _writer;
    private readonly IDisposable _gate;
    private readonly PostgresSessionCache _cache;
    private readonly List<NpgsqlBatchCommand> _commands = [];
    private long _version;
    // What the database holds of the session (as of the read or the last write, as its status implies), to write only what changed.
    private int _historyWritten;
    private Dictionary<long, BranchValues> _branchesWritten;
    private bool _changed;
    private bool _scheduled;
    private bool _releasesAllLocks;
    // In phase 2 as read (or as last written): a write that moves it there claims the phase 2 here.
    private bool _inPhaseTwo;
    private bool _claimed;
    // False once the database's version is not the one this session reflects: it is not cached again.
    private bool _exact = true;
    private bool _releasesLocks;
    private bool _makesPhaseTwoDue;
    // A change collected since the last write needs its own flush (not only AppendWithNextAsync's).
    private bool _waitsForFlush;
    private bool _failed;
    // Run after the write that records the changes collected so far (WhenRecorded).
    private List<Action>? _whenRecorded;
    private bool _disposed;

    private PostgresSessionScope(string schema, PostgresLockStatements locks, PostgresGroupCommit writer, IDisposable gate, PostgresSessionCache cache, GlobalSession session, long version)
    {
        _schema = schema;
        _locks = locks;
        _writer = writer;
        _gate = gate;
        _cache = cache;
        Session = session;
        _version = version;
        (_historyWritten, _branchesWritten) = Written(session);
        _inPhaseTwo = GlobalStatusRules.IsPhaseTwoInProgress(session.Status);
    }

    private static (int History, Dictionary<long, BranchValues> Branches) Written(GlobalSession session)
    {
        lock (session)
        {
            return (session.HistoryUnsafe.Count, session.BranchesUnsafe.ToDictionary(b => b.BranchId, BranchValues.Of));
        }
    }

    public GlobalSession Session { get; }

    /// <summary>
    /// Holds the transaction in this coordinator and takes it as this coordinator last wrote it, or
    /// loads it with its branches; null (nothing held) when it does not exist.
    /// </summary>
    public static async Task<PostgresSessionScope?> OpenAsync(
        NpgsqlDataSource dataSource, PostgresGroupCommit writer, TransactionGates gates, PostgresSessionCache cache, PostgresStoreStatistics statistics,
        string schema, PostgresLockStatements locks, string xid, CancellationToken cancellationToken)
    {
        var gate = await gates.EnterAsync(xid, cancellationToken);
        if (cache.TryTake(xid, out var cached, out var cachedVersion))
        {
            return new PostgresSessionScope(schema, locks, writer, gate, cache, cached, cachedVersion);
        }
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand($"SELECT {PostgresRows.GlobalColumns}, version FROM {schema}.global_session WHERE xid = $1") { Parameters = { new() { Value = xid } } },
                    new NpgsqlBatchCommand($"SELECT {PostgresRows.BranchColumns} FROM {schema}.branch_session WHERE xid = $1 ORDER BY branch_id") { Parameters = { new() { Value = xid } } },
                },
            };
            statistics.RoundTrip(batch.BatchCommands.Count);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                gate.Dispose();
                return null;
            }
            var session = PostgresRows.ReadGlobal(reader);
            var version = reader.GetInt64(PostgresRows.GlobalColumnCount);
            await reader.NextResultAsync(cancellationToken);
            await PostgresRows.ReadBranchesAsync(reader, _ => session, cancellationToken);
            return new PostgresSessionScope(schema, locks, writer, gate, cache, session, version);
        }
        catch
        {
            gate.Dispose();
            throw;
        }
    }

    public async Task<LockConflictInfo?> RegisterBranchAsync(BranchRegistration registration)
    {
        try
        {
            // Anything collected before is written first, under its own condition.
            await FlushAsync();
            var record = registration.Record;
            var outcome = await _writer.WriteAsync(new PostgresWrite { Xid = Session.Xid, Registration = registration });
            if (outcome.Conflict is { } conflict)
            {
                return conflict;
            }
            if (!outcome.Written)
            {
                throw new StoreConflictException($"The branch of {Session.Xid} was not registered: {outcome.Refusal}. Nothing was recorded; ask again.");
            }
            // Registrations of other coordinators may have come between: then this view lacks them.
            _exact &= outcome.Version == _version + 1;
            _version = outcome.Version;
            lock (Session)
            {
                var branch = SessionMutation.AddBranch(Session, record, registration.Keys, CoordinatorState.HolderOf(record));
                _branchesWritten[branch.BranchId] = BranchValues.Of(branch);
            }
            return null;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    public Task AppendAsync(StoreRecord record)
    {
        try
        {
            AppendCore(record);
            _waitsForFlush = true;
            return Task.CompletedTask;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    // Written by the with-next lane unless something else collected with it needs a flush.
    public Task AppendWithNextAsync(StoreRecord record)
    {
        try
        {
            AppendCore(record);
            return Task.CompletedTask;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private void AppendCore(StoreRecord record)
    {
        var session = Session;
        lock (session)
        {
            switch (record.KindCase)
            {
                case StoreRecord.KindOneofCase.GlobalStatusChanged:
                    if (SessionMutation.ApplyGlobalStatusChanged(session, record.GlobalStatusChanged))
                    {
                        SessionMutation.LetGoAll(session);
                        _releasesAllLocks = true; // by XID: one statement
                    }
                    break;
                case StoreRecord.KindOneofCase.BranchStatusChanged:
                    if (SessionMutation.ApplyBranchStatusChanged(session, record.BranchStatusChanged) is { } released)
                    {
                        var others = SessionMutation.LetGo(session, released);
                        _releasesLocks = true;
                        AddBranchRelease(_commands, session, released, others);
                    }
                    break;
                default:
                    throw new InvalidOperationException($"A {record.KindCase} record cannot change an existing transaction.");
            }
            if ((record.GlobalStatusChanged?.Intervention ?? record.BranchStatusChanged?.Intervention) is { } intervention)
            {
                // In the change's own database transaction: the audit entry is there exactly when the change is.
                _commands.Add(PostgresInterventions.Insert(_schema, intervention));
            }
            _changed = true;
        }
    }

    // Keys another live branch of the transaction also registered pass to that branch; the rest are released.
    private void AddBranchRelease(List<NpgsqlBatchCommand> batch, GlobalSession session, BranchSession released, Dictionary<LockKeyId, LockHolder>? others)
    {
        var handed = released.LockKeys.Where(k => others?.ContainsKey(k) == true).Select(k => (Key: k, Holder: others![k])).ToArray();
        if (handed.Length > 0)
        {
            batch.Add(new NpgsqlBatchCommand($"""
                UPDATE {_schema}.global_lock l SET branch_id = h.branch_id, application_id = h.application_id, acquired_unix_ms = h.acquired
                FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[]) AS h(resource_id, table_name, primary_key, branch_id, application_id, acquired)
                WHERE l.xid = $1 AND l.branch_id = $2 AND l.resource_id = h.resource_id AND l.table_name = h.table_name AND l.primary_key = h.primary_key
                """)
            {
                Parameters =
                {
                    new() { Value = session.Xid }, new() { Value = released.BranchId },
                    new() { Value = handed.Select(h => h.Key.ResourceId).ToArray() },
                    new() { Value = handed.Select(h => h.Key.Table).ToArray() },
                    new() { Value = handed.Select(h => h.Key.PrimaryKey).ToArray() },
                    new() { Value = handed.Select(h => h.Holder.BranchId).ToArray() },
                    new() { Value = handed.Select(h => h.Holder.ApplicationId).ToArray() },
                    new() { Value = handed.Select(h => h.Holder.AcquiredUnixMs).ToArray() },
                },
            });
        }
        batch.Add(new NpgsqlBatchCommand(_locks.Release("WHERE l.xid = $1 AND l.branch_id = $2"))
        {
            Parameters = { new() { Value = session.Xid }, new() { Value = released.BranchId } },
        });
    }

    public void WhenRecorded(Action action)
    {
        lock (Session)
        {
            if (!_changed)
            {
                action(); // everything collected is written already
                return;
            }
            (_whenRecorded ??= []).Add(action);
        }
    }

    public Task SaveScheduleAsync()
    {
        lock (Session)
        {
            _changed = _scheduled = _waitsForFlush = true;
            // Due at once (a branch changed under an attempt, a person's retry): whichever coordinator sweeps first takes it.
            _makesPhaseTwoDue |= Session.NextAttemptUnixMs == 0;
        }
        return Task.CompletedTask;
    }

    // Writes what changed since the read (or the last write), if the session is still as it was read.
    private async Task FlushAsync()
    {
        PostgresWrite write;
        List<Action>? recorded;
        lock (Session)
        {
            if (!_changed)
            {
                return;
            }
            var session = Session;
            write = new PostgresWrite
            {
                Xid = session.Xid,
                ExpectedVersion = _version,
                Session = SessionValues.Of(session, _scheduled),
                // Only what the new status does not imply (PostgresImpliedBranchValues): a decision or an end alone updates no branch row.
                Branches = [.. session.BranchesUnsafe.Select(BranchValues.Of)
                    .Where(b => !_branchesWritten.TryGetValue(b.BranchId, out var was) || PostgresImpliedBranchValues.Apply(was, session.Status) != b)],
                Transitions = session.HistoryUnsafe.Skip(_historyWritten).ToArray(),
                ReleasesAllLocks = _releasesAllLocks,
                ClaimsPhaseTwo = GlobalStatusRules.IsPhaseTwoInProgress(session.Status) && !_inPhaseTwo,
                Commands = [.. _commands],
                ReleasesLocks = _releasesLocks || _releasesAllLocks,
                MakesPhaseTwoDue = _makesPhaseTwoDue,
                // Releases and audit entries are never left to a later flush.
                DurableWithNext = !_waitsForFlush && !_releasesLocks && !_releasesAllLocks && _commands.Count == 0,
            };
            _commands.Clear();
            recorded = _whenRecorded;
            _whenRecorded = null;
            _changed = _scheduled = _releasesLocks = _releasesAllLocks = _makesPhaseTwoDue = _waitsForFlush = false;
            (_historyWritten, _branchesWritten) = (session.HistoryUnsafe.Count, session.BranchesUnsafe.ToDictionary(b => b.BranchId, BranchValues.Of));
        }
        var outcome = await _writer.WriteAsync(write);
        if (!outcome.Written)
        {
            throw new StoreConflictException($"The change of {Session.Xid} was not recorded: {outcome.Refusal}. Nothing was recorded; ask again.");
        }
        _version = outcome.Version;
        _claimed |= write.ClaimsPhaseTwo;
        recorded?.ForEach(action => action());
        _inPhaseTwo = write.Session is { } written && GlobalStatusRules.IsPhaseTwoInProgress(written.Status);
    }

    /// <summary>Writes the changes (none after a failed call: nothing of the scope is written then) and lets the transaction go.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            if (!_failed)
            {
                await FlushAsync();
                if (_exact)
                {
                    _cache.Put(Session, _version, _claimed);
                }
            }
        }
        finally
        {
            _gate.Dispose();
        }
    }
}
