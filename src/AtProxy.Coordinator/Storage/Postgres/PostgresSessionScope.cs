using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;
using Google.Protobuf;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// A transaction held through its global session row (<c>SELECT ... FOR UPDATE</c>) in one
/// database transaction: every coordinator sharing the store waits for it. Changes are written
/// in that transaction and committed when the scope is disposed; a scope whose write failed is
/// rolled back instead, so the database never holds half a change.
/// </summary>
internal sealed class PostgresSessionScope : ISessionScope
{
    private const int MaxRegistrationTries = 10;
    private readonly string _schema;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly SemaphoreSlim _serial = new(1, 1);
    private bool _failed;
    private bool _disposed;

    private PostgresSessionScope(string schema, NpgsqlConnection connection, NpgsqlTransaction transaction, GlobalSession session)
    {
        _schema = schema;
        _connection = connection;
        _transaction = transaction;
        Session = session;
    }

    public GlobalSession Session { get; }

    /// <summary>Locks the session's row and loads it with its branches; null (nothing held) when it does not exist.</summary>
    public static async Task<PostgresSessionScope?> OpenAsync(NpgsqlDataSource dataSource, string schema, string xid, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand($"SELECT {PostgresRows.GlobalColumns} FROM {schema}.global_session WHERE xid = $1 FOR UPDATE") { Parameters = { new() { Value = xid } } },
                    new NpgsqlBatchCommand($"SELECT {PostgresRows.BranchColumns} FROM {schema}.branch_session WHERE xid = $1 ORDER BY branch_id") { Parameters = { new() { Value = xid } } },
                },
            };
            GlobalSession? session;
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
            {
                session = await PostgresRows.ReadSessionAsync(reader, cancellationToken);
            }
            if (session is null)
            {
                await transaction.RollbackAsync(CancellationToken.None);
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
                return null;
            }
            return new PostgresSessionScope(schema, connection, transaction, session);
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task<LockConflictInfo?> RegisterBranchAsync(BranchRegistration registration)
    {
        await _serial.WaitAsync();
        try
        {
            var record = registration.Record;
            var keys = registration.Keys;
            var tables = keys.Select(k => k.Table).ToArray();
            var primaryKeys = keys.Select(k => k.PrimaryKey).ToArray();
            for (var attempt = 1; ; attempt++)
            {
                await using var batch = new NpgsqlBatch(_connection, _transaction)
                {
                    BatchCommands =
                    {
                        new NpgsqlBatchCommand("SAVEPOINT register_branch"),
                        new NpgsqlBatchCommand($"""
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
                        new NpgsqlBatchCommand($"UPDATE {_schema}.global_session SET last_update_unix_ms = greatest(last_update_unix_ms, $2) WHERE xid = $1")
                        {
                            Parameters = { new() { Value = record.Xid }, new() { Value = record.RegisteredUnixMs } },
                        },
                        // All keys in one statement, in one order for everyone (no deadlock between two branches);
                        // keys held already (by anyone) are left alone and checked by the next statement.
                        new NpgsqlBatchCommand($"""
                            INSERT INTO {_schema}.global_lock (resource_id, table_name, primary_key, xid, branch_id, application_id, acquired_unix_ms)
                            SELECT $1, k.t, k.p, $4, $5, $6, $7 FROM unnest($2::text[], $3::text[]) AS k(t, p)
                            ORDER BY k.t, k.p
                            ON CONFLICT DO NOTHING
                            """)
                        {
                            Parameters =
                            {
                                new() { Value = record.ResourceId }, new() { Value = tables }, new() { Value = primaryKeys },
                                new() { Value = record.Xid }, new() { Value = record.BranchId }, new() { Value = record.ApplicationId },
                                new() { Value = record.RegisteredUnixMs },
                            },
                        },
                        // A new snapshot: sees every holder that committed while the insert waited for it.
                        new NpgsqlBatchCommand($"""
                            SELECT k.t, k.p, l.xid, l.branch_id, l.application_id, l.acquired_unix_ms
                            FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(t, p, o)
                            LEFT JOIN {_schema}.global_lock l ON l.resource_id = $1 AND l.table_name = k.t AND l.primary_key = k.p
                            WHERE l.xid IS DISTINCT FROM $4
                            ORDER BY k.o
                            LIMIT 1
                            """)
                        {
                            Parameters = { new() { Value = record.ResourceId }, new() { Value = tables }, new() { Value = primaryKeys }, new() { Value = record.Xid } },
                        },
                    },
                };
                LockConflictInfo? conflict = null;
                var missing = false;
                try
                {
                    await using var reader = await batch.ExecuteReaderAsync();
                    if (await reader.ReadAsync())
                    {
                        var key = new LockKeyId(record.ResourceId, reader.GetString(0), reader.GetString(1));
                        if (reader.IsDBNull(2))
                        {
                            missing = true; // its holder let go between the two statements: try again
                        }
                        else
                        {
                            conflict = new LockConflictInfo(key, new LockHolder(reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetInt64(5)));
                        }
                    }
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < MaxRegistrationTries)
                {
                    missing = true;
                }
                if (conflict is null && !missing)
                {
                    lock (Session)
                    {
                        SessionMutation.AddBranch(Session, record, keys, CoordinatorState.HolderOf(record));
                    }
                    return null;
                }
                await ExecuteAsync("ROLLBACK TO SAVEPOINT register_branch");
                if (conflict is not null)
                {
                    return conflict;
                }
                if (attempt >= MaxRegistrationTries)
                {
                    throw new StoreUnavailableException($"Could not register a branch of {record.Xid}: its keys kept changing hands ({attempt} tries).");
                }
            }
        }
        catch
        {
            _failed = true;
            throw;
        }
        finally
        {
            _serial.Release();
        }
    }

    public async Task AppendAsync(StoreRecord record)
    {
        await _serial.WaitAsync();
        try
        {
            await AppendCoreAsync(record);
        }
        catch
        {
            _failed = true;
            throw;
        }
        finally
        {
            _serial.Release();
        }
    }

    private async Task AppendCoreAsync(StoreRecord record)
    {
        var session = Session;
        var historyBefore = session.HistoryUnsafe.Count;
        var before = session.BranchesUnsafe.ToDictionary(b => b.BranchId, b => (b.Status, b.LastError, b.LocksHeld, b.Forgotten));
        await using var batch = new NpgsqlBatch(_connection, _transaction);
        lock (session)
        {
            switch (record.KindCase)
            {
                case StoreRecord.KindOneofCase.GlobalStatusChanged:
                    if (SessionMutation.ApplyGlobalStatusChanged(session, record.GlobalStatusChanged))
                    {
                        SessionMutation.LetGoAll(session);
                        // Release by XID: one statement.
                        batch.BatchCommands.Add(new NpgsqlBatchCommand($"DELETE FROM {_schema}.global_lock WHERE xid = $1") { Parameters = { new() { Value = session.Xid } } });
                    }
                    break;
                case StoreRecord.KindOneofCase.BranchStatusChanged:
                    if (SessionMutation.ApplyBranchStatusChanged(session, record.BranchStatusChanged) is { } released)
                    {
                        var others = SessionMutation.LetGo(session, released);
                        AddBranchRelease(batch, session, released, others);
                    }
                    break;
                default:
                    throw new InvalidOperationException($"A {record.KindCase} record cannot change an existing transaction.");
            }

            // An ended transaction keeps no claim: nothing of it is left for another coordinator to take over.
            batch.BatchCommands.Insert(0, new NpgsqlBatchCommand($"""
                UPDATE {_schema}.global_session SET status = $2, last_update_unix_ms = $3, timed_out = $4,
                    claim_owner = CASE WHEN $5 THEN NULL ELSE claim_owner END,
                    claim_expires_unix_ms = CASE WHEN $5 THEN NULL ELSE claim_expires_unix_ms END,
                    phase_two_since_unix_ms = $6
                WHERE xid = $1
                """)
            {
                Parameters =
                {
                    new() { Value = session.Xid }, new() { Value = (int)session.Status }, new() { Value = session.LastUpdateUnixMs },
                    new() { Value = session.TimedOut }, new() { Value = GlobalStatusRules.IsEnded(session.Status) },
                    new() { Value = session.PhaseTwoSinceUnixMs },
                },
            });
            for (var i = historyBefore; i < session.HistoryUnsafe.Count; i++)
            {
                var entry = session.HistoryUnsafe[i];
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
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
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
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
        }
        await batch.ExecuteNonQueryAsync();
    }

    // Keys another live branch of the transaction also registered pass to that branch; the rest are released.
    private void AddBranchRelease(NpgsqlBatch batch, GlobalSession session, BranchSession released, Dictionary<LockKeyId, LockHolder>? others)
    {
        var handed = released.LockKeys.Where(k => others?.ContainsKey(k) == true).Select(k => (Key: k, Holder: others![k])).ToArray();
        if (handed.Length > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
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
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"DELETE FROM {_schema}.global_lock WHERE xid = $1 AND branch_id = $2")
        {
            Parameters = { new() { Value = session.Xid }, new() { Value = released.BranchId } },
        });
    }

    public async Task SaveScheduleAsync()
    {
        await _serial.WaitAsync();
        try
        {
            await using var command = new NpgsqlCommand(
                $"UPDATE {_schema}.global_session SET failures_in_a_row = $2, next_attempt_unix_ms = $3 WHERE xid = $1", _connection, _transaction)
            {
                Parameters = { new() { Value = Session.Xid }, new() { Value = Session.FailuresInARow }, new() { Value = Session.NextAttemptUnixMs } },
            };
            await command.ExecuteNonQueryAsync();
        }
        catch
        {
            _failed = true;
            throw;
        }
        finally
        {
            _serial.Release();
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = new NpgsqlCommand(sql, _connection, _transaction);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Commits the changes (rolls back after a failed write) and lets the transaction go.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            if (_failed)
            {
                await _transaction.RollbackAsync(CancellationToken.None);
            }
            else
            {
                await _transaction.CommitAsync(CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException && !_failed)
        {
            throw new StoreUnavailableException($"The change of {Session.Xid} could not be committed to the PostgreSQL store: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // Rolling back a broken connection: the server rolls back by itself.
        }
        finally
        {
            await _transaction.DisposeAsync();
            await _connection.DisposeAsync();
            _serial.Dispose();
        }
    }
}
