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
/// go to the group commit (<see cref="PostgresWriter"/>) and are written only if the session's
/// version is still the one read: a scope never overwrites what another coordinator changed
/// meanwhile, and fails with <see cref="StoreConflictException"/> (nothing written) instead. A
/// registration is written at once (its answer depends on the keys), under the weaker condition
/// that the transaction is still BEGIN, so registrations of one transaction on several
/// coordinators do not refuse each other.
/// </summary>
internal sealed class PostgresSessionScope : ISessionScope
{
    private readonly string _schema;
    private readonly PostgresWriter _writer;
    private readonly IDisposable _gate;
    private readonly List<NpgsqlBatchCommand> _pending = [];
    private long _version;
    private bool _releasesLocks;
    private bool _makesPhaseTwoDue;
    private bool _failed;
    private bool _disposed;

    private PostgresSessionScope(string schema, PostgresWriter writer, IDisposable gate, GlobalSession session, long version)
    {
        _schema = schema;
        _writer = writer;
        _gate = gate;
        Session = session;
        _version = version;
    }

    public GlobalSession Session { get; }

    /// <summary>Holds the transaction in this coordinator and loads it with its branches; null (nothing held) when it does not exist.</summary>
    public static async Task<PostgresSessionScope?> OpenAsync(
        NpgsqlDataSource dataSource, PostgresWriter writer, TransactionGates gates, PostgresStoreStatistics statistics, string schema, string xid, CancellationToken cancellationToken)
    {
        var gate = await gates.EnterAsync(xid, cancellationToken);
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
            return new PostgresSessionScope(schema, writer, gate, session, version);
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
            var commands = new List<NpgsqlBatchCommand>
            {
                new($"""
                    INSERT INTO {_schema}.branch_session (xid, branch_id, resource_id, application_id, registered_unix_ms, status, locks_held, registration)
                    VALUES ($1, $2, $3, $4, $5, $6, true, $7)
                    """)
                {
                    Parameters =
                    {
                        new() { Value = record.Xid }, new() { Value = record.BranchId }, new() { Value = record.ResourceId },
                        new() { Value = record.ApplicationId }, new() { Value = record.RegisteredUnixMs }, new() { Value = (int)BranchStatus.Registered },
                        new() { Value = record.ToByteArray() },
                    },
                },
                new($"UPDATE {_schema}.global_session SET last_update_unix_ms = greatest(last_update_unix_ms, $2) WHERE xid = $1")
                {
                    Parameters = { new() { Value = record.Xid }, new() { Value = record.RegisteredUnixMs } },
                },
            };
            var outcome = await _writer.WriteAsync(new PostgresWrite { Xid = Session.Xid, Registration = registration, Commands = commands });
            if (outcome.Conflict is { } conflict)
            {
                return conflict;
            }
            if (!outcome.Written)
            {
                throw new StoreConflictException($"The branch of {Session.Xid} was not registered: {outcome.Refusal}. Nothing was recorded; ask again.");
            }
            _version++;
            lock (Session)
            {
                SessionMutation.AddBranch(Session, record, registration.Keys, CoordinatorState.HolderOf(record));
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
            var historyBefore = session.HistoryUnsafe.Count;
            var before = session.BranchesUnsafe.ToDictionary(b => b.BranchId, b => (b.Status, b.LastError, b.LocksHeld, b.Forgotten));
            var batch = new List<NpgsqlBatchCommand>();
            switch (record.KindCase)
            {
                case StoreRecord.KindOneofCase.GlobalStatusChanged:
                    if (SessionMutation.ApplyGlobalStatusChanged(session, record.GlobalStatusChanged))
                    {
                        SessionMutation.LetGoAll(session);
                        _releasesLocks = true;
                        // Release by XID: one statement.
                        batch.Add(new NpgsqlBatchCommand($"DELETE FROM {_schema}.global_lock WHERE xid = $1") { Parameters = { new() { Value = session.Xid } } });
                    }
                    break;
                case StoreRecord.KindOneofCase.BranchStatusChanged:
                    if (SessionMutation.ApplyBranchStatusChanged(session, record.BranchStatusChanged) is { } released)
                    {
                        var others = SessionMutation.LetGo(session, released);
                        _releasesLocks = true;
                        AddBranchRelease(batch, session, released, others);
                    }
                    break;
                default:
                    throw new InvalidOperationException($"A {record.KindCase} record cannot change an existing transaction.");
            }

            // An ended transaction keeps no claim: nothing of it is left for another coordinator to take over.
            batch.Insert(0, new NpgsqlBatchCommand($"""
                UPDATE {_schema}.global_session SET status = $2, last_update_unix_ms = $3, timed_out = $4,
                    claim_owner = CASE WHEN $5 THEN NULL ELSE claim_owner END,
                    claim_expires_unix_ms = CASE WHEN $5 THEN NULL ELSE claim_expires_unix_ms END
                WHERE xid = $1
                """)
            {
                Parameters =
                {
                    new() { Value = session.Xid }, new() { Value = (int)session.Status }, new() { Value = session.LastUpdateUnixMs },
                    new() { Value = session.TimedOut }, new() { Value = GlobalStatusRules.IsEnded(session.Status) },
                },
            });
            for (var i = historyBefore; i < session.HistoryUnsafe.Count; i++)
            {
                var entry = session.HistoryUnsafe[i];
                batch.Add(new NpgsqlBatchCommand(
                    $"INSERT INTO {_schema}.transition (xid, at_unix_ms, from_status, to_status, reason, actor) VALUES ($1, $2, $3, $4, $5, $6)")
                {
                    Parameters =
                    {
                        new() { Value = session.Xid }, new() { Value = entry.AtUnixMs }, new() { Value = (int)entry.From },
                        new() { Value = (int)entry.To }, new() { Value = entry.Reason }, new() { Value = entry.Actor },
                    },
                });
            }
            var changed = session.BranchesUnsafe.Where(b => before.TryGetValue(b.BranchId, out var was) && was != (b.Status, b.LastError, b.LocksHeld, b.Forgotten)).ToArray();
            if (changed.Length > 0)
            {
                batch.Add(new NpgsqlBatchCommand($"""
                    UPDATE {_schema}.branch_session b SET status = c.status, last_error = c.last_error, locks_held = c.locks_held, forgotten = c.forgotten
                    FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::boolean[], $6::boolean[]) AS c(branch_id, status, last_error, locks_held, forgotten)
                    WHERE b.xid = $1 AND b.branch_id = c.branch_id
                    """)
                {
                    Parameters =
                    {
                        new() { Value = session.Xid },
                        new() { Value = changed.Select(b => b.BranchId).ToArray() },
                        new() { Value = changed.Select(b => (int)b.Status).ToArray() },
                        new() { Value = changed.Select(b => b.LastError).ToArray() },
                        new() { Value = changed.Select(b => b.LocksHeld).ToArray() },
                        new() { Value = changed.Select(b => b.Forgotten).ToArray() },
                    },
                });
            }
            _pending.AddRange(batch);
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
        batch.Add(new NpgsqlBatchCommand($"DELETE FROM {_schema}.global_lock WHERE xid = $1 AND branch_id = $2")
        {
            Parameters = { new() { Value = session.Xid }, new() { Value = released.BranchId } },
        });
    }

    public Task SaveScheduleAsync()
    {
        lock (Session)
        {
            _pending.Add(new NpgsqlBatchCommand($"UPDATE {_schema}.global_session SET failures_in_a_row = $2, next_attempt_unix_ms = $3 WHERE xid = $1")
            {
                Parameters = { new() { Value = Session.Xid }, new() { Value = Session.FailuresInARow }, new() { Value = Session.NextAttemptUnixMs } },
            });
            // Due at once (a branch changed under an attempt, a person's retry): whichever coordinator sweeps first takes it.
            _makesPhaseTwoDue |= Session.NextAttemptUnixMs == 0;
        }
        return Task.CompletedTask;
    }

    // Writes what was collected, if the session is still as it was read.
    private async Task FlushAsync()
    {
        PostgresWrite write;
        lock (Session)
        {
            if (_pending.Count == 0)
            {
                return;
            }
            write = new PostgresWrite
            {
                Xid = Session.Xid,
                ExpectedVersion = _version,
                Commands = [.. _pending],
                ReleasesLocks = _releasesLocks,
                MakesPhaseTwoDue = _makesPhaseTwoDue,
            };
            _pending.Clear();
            _releasesLocks = false;
            _makesPhaseTwoDue = false;
        }
        var outcome = await _writer.WriteAsync(write);
        if (!outcome.Written)
        {
            throw new StoreConflictException($"The change of {Session.Xid} was not recorded: {outcome.Refusal}. Nothing was recorded; ask again.");
        }
        _version++;
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
            }
        }
        finally
        {
            _gate.Dispose();
        }
    }
}
