using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// The shared store: every session, branch, transition and lock lives in PostgreSQL tables
/// (<see cref="PostgresSchema"/>), the database is the only truth, and any number of
/// coordinator instances work on it at once. A change is made in a scope
/// (<see cref="PostgresSessionScope"/>) and written by the group commit
/// (<see cref="PostgresGroupCommit"/>) only if nobody changed the transaction since it was read; a
/// branch's keys are acquired in the group commit's one lock insert, all or none; phase 2 is
/// claimed with a lease (owner and expiry on the session row, database clock) that a dead
/// instance stops renewing, so another takes over once it expires. Released locks and phase-2
/// attempts made due are announced over LISTEN/NOTIFY (<see cref="PostgresNotifications"/>).
/// </summary>
internal sealed class PostgresCoordinatorStore : ICoordinatorStore
{
    // The database's clock in Unix ms: leases are compared on one clock, whatever the instances' clocks say.
    private const string DatabaseNowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
    private const int SweepBatch = 1000;

    private static readonly string PhaseTwoStatuses = PostgresSchema.StatusList(GlobalStatusRules.IsPhaseTwoInProgress);
    private static readonly string EndedStatuses = PostgresSchema.StatusList(GlobalStatusRules.IsEnded);
    private static readonly int[] DoneBranchStatuses =
        [.. Enum.GetValues<BranchStatus>().Where(BranchStatusRules.IsDone).Select(s => (int)s)];

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly PostgresLockStatements _locks;
    private readonly long _leaseMs;
    private readonly ILogger _logger;
    private readonly PostgresIdBlock _transactionIds;
    private readonly PostgresIdBlock _branchIds;
    private readonly TransactionGates _gates = new();
    private readonly PostgresSessionCache _cache = new();
    private readonly PostgresNotifications _notifications;
    private readonly PostgresGroupCommit _writer;
    private volatile bool _open;
    private volatile bool _reachable = true;

    public PostgresCoordinatorStore(string connectionString, string schema, string instanceId, long leaseMs, bool lockAudit, ILogger<PostgresCoordinatorStore> logger)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            // The store runs the same few statements all the time: prepared once per connection, parsed never again.
            builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
        }
        _dataSource = builder.Build();
        _schema = schema;
        _locks = new PostgresLockStatements(schema, lockAudit);
        InstanceId = instanceId;
        _leaseMs = leaseMs;
        _logger = logger;
        _transactionIds = new PostgresIdBlock(_dataSource, $"{schema}.transaction_seq", Statistics);
        _branchIds = new PostgresIdBlock(_dataSource, $"{schema}.branch_seq", Statistics);
        _notifications = new PostgresNotifications(_dataSource, schema, instanceId, logger);
        _writer = new PostgresGroupCommit(_dataSource, schema, _locks, instanceId, leaseMs, _notifications, Statistics);
    }

    /// <summary>Where the writer records how long each batch took to commit (optional).</summary>
    public Diagnostics.CoordinatorMetrics? Metrics
    {
        get => Statistics.Metrics;
        init => Statistics.Metrics = value;
    }

    /// <summary>Round trips, statements and commits so far.</summary>
    public PostgresStoreStatistics Statistics { get; } = new();

    /// <summary>True while this coordinator listens for the other coordinators' wake-ups.</summary>
    public bool IsListening => _notifications.IsListening;

    /// <summary>Completes at the next release of global locks seen here (this coordinator's, or another's notification).</summary>
    public Task NextLocksReleasedAsync() => _notifications.NextLocksReleasedAsync();

    /// <summary>Another coordinator made a phase-2 attempt due now: sweep at once.</summary>
    public event Action? PhaseTwoDue
    {
        add => _notifications.PhaseTwoDue += value;
        remove => _notifications.PhaseTwoDue -= value;
    }

    public string Kind => "postgres";

    /// <summary>Open, and the database answered the last sweep (every <c>SweepIntervalMs</c>).</summary>
    public bool IsHealthy => _open && _reachable;

    public bool IsShared => true;

    /// <summary>This coordinator instance's name in claims: its node id and a per-process suffix.</summary>
    public string InstanceId { get; }

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PostgresSchema.MigrateAsync(_dataSource, _schema, cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            throw new InvalidOperationException($"The PostgreSQL store could not be opened: {ex.Message}", ex);
        }
        _open = true;
        _notifications.Start();
        Log.PostgresStoreOpened(_logger, _dataSource.ConnectionString.Split(';').FirstOrDefault(p => p.StartsWith("Host", StringComparison.OrdinalIgnoreCase)) ?? "", _schema, PostgresSchema.CurrentVersion, InstanceId);
    }

    public ValueTask<long> NextTransactionSequenceAsync() => _transactionIds.NextAsync();

    public ValueTask<long> NextBranchIdAsync() => _branchIds.NextAsync();

    public async Task BeginAsync(GlobalBegun begun)
    {
        // Nothing depends on a begin alone: the first registration or decision, written after it
        // and waiting for its flush, makes it durable; lost with the database before that, the
        // transaction's next call finds it unknown, and nothing of it was registered.
        var outcome = await _writer.WriteAsync(new PostgresWrite { Xid = begun.Xid, Begun = begun, DurableWithNext = true });
        if (!outcome.Written)
        {
            throw new StoreUnavailableException($"{begun.Xid} was not recorded: {outcome.Refusal}");
        }
        // Its next scope here (the first registration, usually) starts from it without a read.
        _cache.Put(new GlobalSession(begun.Xid, begun.Sequence, begun.Name, begun.ApplicationId, begun.BeginTimeUnixMs, begun.TimeoutMs), 0);
    }

    public async Task<GlobalSession?> FindAsync(string xid)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"SELECT {PostgresRows.GlobalColumns} FROM {_schema}.global_session WHERE xid = $1") { Parameters = { new() { Value = xid } } },
                new NpgsqlBatchCommand($"SELECT {PostgresRows.BranchColumns} FROM {_schema}.branch_session WHERE xid = $1 ORDER BY branch_id") { Parameters = { new() { Value = xid } } },
                new NpgsqlBatchCommand($"SELECT {PostgresRows.TransitionColumns} FROM {_schema}.transition WHERE xid = $1 ORDER BY id") { Parameters = { new() { Value = xid } } },
            },
        };
        Statistics.RoundTrip(batch.BatchCommands.Count);
        await using var reader = await batch.ExecuteReaderAsync();
        if (await PostgresRows.ReadSessionAsync(reader) is not { } session)
        {
            return null;
        }
        await reader.NextResultAsync();
        await PostgresRows.ReadTransitionsAsync(reader, session);
        return session;
    }

    public Task<IReadOnlyList<Intervention>> ListInterventionsAsync(string xid, long beforeId, int limit)
    {
        Statistics.RoundTrip(1);
        return PostgresInterventions.ListAsync(_dataSource, _schema, xid, beforeId, limit);
    }

    public Task ExpireInterventionsAsync(long atUnixMs)
    {
        Statistics.RoundTrip(1);
        return PostgresInterventions.ExpireAsync(_dataSource, _schema, atUnixMs);
    }

    public async Task<IReadOnlyDictionary<string, GlobalStatus>> FindStatusesAsync(IReadOnlyCollection<string> xids)
    {
        var found = new Dictionary<string, GlobalStatus>(StringComparer.Ordinal);
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand($"SELECT xid, status FROM {_schema}.global_session WHERE xid = ANY($1)", connection)
        {
            Parameters = { new() { Value = xids.ToArray() } },
        };
        Statistics.RoundTrip(1);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            found[reader.GetString(0)] = (GlobalStatus)reader.GetInt32(1);
        }
        return found;
    }

    public async Task<ISessionScope?> LockAsync(string xid, CancellationToken cancellationToken = default) =>
        await PostgresSessionScope.OpenAsync(_dataSource, _writer, _gates, _cache, Statistics, _schema, _locks, xid, cancellationToken);

    public async Task<IReadOnlyList<GlobalSession>> ListAsync(TransactionQuery query)
    {
        var sessions = new List<GlobalSession>();
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using (var command = new NpgsqlCommand($"""
            SELECT {PostgresRows.GlobalColumns} FROM {_schema}.global_session
            WHERE sequence > $1 AND (cardinality($2::integer[]) = 0 OR status = ANY($2)) AND ($3 = '' OR name = $3)
              AND ($4 = '' OR application_id = $4) AND begin_time_unix_ms <= $5
            ORDER BY sequence
            LIMIT $6
            """, connection))
        {
            command.Parameters.Add(new() { Value = query.AfterSequence });
            command.Parameters.Add(new() { Value = query.Statuses.Select(s => (int)s).ToArray() });
            command.Parameters.Add(new() { Value = query.Name });
            command.Parameters.Add(new() { Value = query.ApplicationId });
            command.Parameters.Add(new() { Value = query.BegunBeforeUnixMs });
            command.Parameters.Add(new() { Value = query.Limit });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                sessions.Add(PostgresRows.ReadGlobal(reader));
            }
        }
        if (sessions.Count > 0)
        {
            var byXid = sessions.ToDictionary(s => s.Xid, StringComparer.Ordinal);
            await using var command = new NpgsqlCommand($"SELECT {PostgresRows.BranchColumns} FROM {_schema}.branch_session WHERE xid = ANY($1) ORDER BY xid, branch_id", connection);
            command.Parameters.Add(new() { Value = byXid.Keys.ToArray() });
            await using var reader = await command.ExecuteReaderAsync();
            await PostgresRows.ReadBranchesAsync(reader, byXid.GetValueOrDefault);
        }
        return sessions;
    }

    public async Task<StoreCounts> CountAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"SELECT status, count(*) FROM {_schema}.global_session GROUP BY status"),
                new NpgsqlBatchCommand($"SELECT count(*) FROM {_schema}.global_lock"),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync();
        var byStatus = new Dictionary<GlobalStatus, long>();
        while (await reader.ReadAsync())
        {
            byStatus[(GlobalStatus)reader.GetInt32(0)] = reader.GetInt64(1);
        }
        await reader.NextResultAsync();
        await reader.ReadAsync();
        return new StoreCounts(byStatus, reader.GetInt64(0));
    }

    // Without notifications every look is a query: look again every 20 ms. With them, a release
    // anywhere wakes the waiter; the look every second only covers a notification lost with its connection.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan ListeningSafetyNet = TimeSpan.FromSeconds(1);

    public async Task WaitForReleaseAsync(LockKeyId key, TimeSpan atMost, CancellationToken cancellationToken)
    {
        if (!_notifications.IsListening)
        {
            await Task.Delay(atMost < PollInterval ? atMost : PollInterval, CancellationToken.None);
            return;
        }
        // Taken before the look: a release committed after it completes this task.
        var released = _notifications.NextLocksReleasedAsync();
        if (await CheckLocksAsync([key], null) is null)
        {
            return; // released between the caller's check and now
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await Task.WhenAny(released, Task.Delay(atMost < ListeningSafetyNet ? atMost : ListeningSafetyNet, stop.Token));
        await stop.CancelAsync();
    }

    public async Task<LockConflictInfo?> CheckLocksAsync(LockKeyId[] keys, string? xid)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT {string.Join(", ", PostgresRows.LockColumns.Split(", ").Select(c => "l." + c))}
            FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(r, t, p, o)
            JOIN {_schema}.global_lock l ON l.resource_id = k.r AND l.table_name = k.t AND l.primary_key = k.p
            WHERE $4::text IS NULL OR l.xid <> $4
            ORDER BY k.o
            LIMIT 1
            """);
        command.Parameters.Add(new() { Value = keys.Select(k => k.ResourceId).ToArray() });
        command.Parameters.Add(new() { Value = keys.Select(k => k.Table).ToArray() });
        command.Parameters.Add(new() { Value = keys.Select(k => k.PrimaryKey).ToArray() });
        command.Parameters.Add(new() { Value = (object?)xid ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        Statistics.RoundTrip(1);
        await using var reader = await command.ExecuteReaderAsync();
        var found = await PostgresRows.ReadLocksAsync(reader);
        return found.Count == 0 ? null : new LockConflictInfo(found[0].Key, found[0].Value);
    }

    public async Task<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>> LocksOfAsync(GlobalSession session)
    {
        await using var command = _dataSource.CreateCommand(
            $"SELECT {PostgresRows.LockColumns} FROM {_schema}.global_lock WHERE xid = $1 ORDER BY branch_id, resource_id, table_name, primary_key");
        command.Parameters.Add(new() { Value = session.Xid });
        await using var reader = await command.ExecuteReaderAsync();
        return await PostgresRows.ReadLocksAsync(reader);
    }

    public async Task<IReadOnlyList<KeyValuePair<LockKeyId, LockHolder>>> ListLocksAsync(LockQuery query)
    {
        var after = query.After;
        await using var command = _dataSource.CreateCommand($"""
            SELECT {PostgresRows.LockColumns} FROM {_schema}.global_lock
            WHERE ($1 = '' OR resource_id = $1) AND ($2 = '' OR table_name = $2) AND starts_with(primary_key, $3) AND ($4 = '' OR xid = $4)
              AND (NOT $5 OR (acquired_unix_ms, branch_id, resource_id COLLATE "C", table_name COLLATE "C", primary_key COLLATE "C") > ($6, $7, $8, $9, $10))
            ORDER BY acquired_unix_ms, branch_id, resource_id COLLATE "C", table_name COLLATE "C", primary_key COLLATE "C"
            LIMIT $11
            """);
        command.Parameters.Add(new() { Value = query.ResourceId });
        command.Parameters.Add(new() { Value = query.Table });
        command.Parameters.Add(new() { Value = query.PrimaryKeyPrefix });
        command.Parameters.Add(new() { Value = query.Xid });
        command.Parameters.Add(new() { Value = after is not null });
        command.Parameters.Add(new() { Value = after?.AcquiredUnixMs ?? 0L });
        command.Parameters.Add(new() { Value = after?.BranchId ?? 0L });
        command.Parameters.Add(new() { Value = after?.ResourceId ?? "" });
        command.Parameters.Add(new() { Value = after?.Table ?? "" });
        command.Parameters.Add(new() { Value = after?.PrimaryKey ?? "" });
        command.Parameters.Add(new() { Value = query.Limit });
        await using var reader = await command.ExecuteReaderAsync();
        return await PostgresRows.ReadLocksAsync(reader);
    }

    // The first query of every sweep: it also tells whether the database can be reached.
    public async Task<IReadOnlyList<string>> FindTimedOutAsync(long nowUnixMs)
    {
        try
        {
            var xids = await XidsAsync($"""
                SELECT xid FROM {_schema}.global_session
                WHERE status = {(int)GlobalStatus.Begin} AND begin_time_unix_ms + timeout_ms <= $1
                LIMIT {SweepBatch}
                """, nowUnixMs);
            _reachable = true;
            return xids;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            _reachable = false;
            throw;
        }
    }

    // A claim of this coordinator's own is listed too: the sweep starts no attempt where one runs
    // here, and a claim with none running (a decision's claim whose attempt was never started) is
    // not worth waiting a lease out for.
    public Task<IReadOnlyList<string>> FindDuePhaseTwoAsync(long nowUnixMs) => XidsAsync($"""
        SELECT xid FROM {_schema}.global_session
        WHERE status IN ({PhaseTwoStatuses}) AND next_attempt_unix_ms <= $1
          AND (claim_owner IS NULL OR claim_owner = $2 OR claim_expires_unix_ms < {DatabaseNowMs})
        ORDER BY next_attempt_unix_ms
        LIMIT {SweepBatch}
        """, nowUnixMs, InstanceId);

    private async Task<IReadOnlyList<string>> XidsAsync(string sql, long nowUnixMs, string? instanceId = null)
    {
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(new() { Value = nowUnixMs });
        if (instanceId is not null)
        {
            command.Parameters.Add(new() { Value = instanceId });
        }
        var xids = new List<string>();
        Statistics.RoundTrip(1);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            xids.Add(reader.GetString(0));
        }
        return xids;
    }

    public async Task WakeWaitingForAsync(IReadOnlyList<string> resourceIds)
    {
        await using var command = _dataSource.CreateCommand($"""
            UPDATE {_schema}.global_session g SET next_attempt_unix_ms = 0
            FROM (SELECT s.xid FROM {_schema}.global_session s
                  WHERE s.status IN ({PhaseTwoStatuses}) AND s.next_attempt_unix_ms > 0
                    AND EXISTS (SELECT 1 FROM {_schema}.branch_session b
                                WHERE b.xid = s.xid AND b.resource_id = ANY($1) AND NOT (b.status = ANY($2)))
                  ORDER BY s.xid
                  FOR UPDATE) w
            WHERE g.xid = w.xid
            """);
        command.Parameters.Add(new() { Value = resourceIds.ToArray() });
        command.Parameters.Add(new() { Value = DoneBranchStatuses });
        Statistics.RoundTrip(1);
        if (await command.ExecuteNonQueryAsync() > 0)
        {
            await NotifyPhaseTwoDueAsync();
        }
    }

    // The other coordinators sweep at once: whichever has the resource manager (or is free) takes it.
    private async Task NotifyPhaseTwoDueAsync()
    {
        if (_notifications.CanNotify)
        {
            await using var connection = await _dataSource.OpenConnectionAsync();
            await using var batch = new NpgsqlBatch(connection) { BatchCommands = { _notifications.NotifyPhaseTwoDue() } };
            Statistics.RoundTrip(1);
            await batch.ExecuteNonQueryAsync();
        }
    }

    public async Task PurgeEndedAsync(long lastUpdateBeforeUnixMs)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                // Branches and history go with their session, in the same statement (no foreign key cascades them: PostgresSchema version 4).
                new NpgsqlBatchCommand($"""
                    WITH ended AS (DELETE FROM {_schema}.global_session WHERE status IN ({EndedStatuses}) AND last_update_unix_ms <= $1 RETURNING xid),
                         branches AS (DELETE FROM {_schema}.branch_session WHERE xid = ANY (ARRAY(SELECT xid FROM ended)))
                    DELETE FROM {_schema}.transition WHERE xid = ANY (ARRAY(SELECT xid FROM ended))
                    """)
                {
                    Parameters = { new() { Value = lastUpdateBeforeUnixMs } },
                },
            },
        };
        if (_locks.PurgeReleased() is { } purgeAudit)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(purgeAudit) { Parameters = { new() { Value = lastUpdateBeforeUnixMs } } });
        }
        await batch.ExecuteNonQueryAsync();
    }

    public async Task<GlobalSession?> ClaimPhaseTwoAsync(string xid, long? dueByUnixMs)
    {
        // The decision this coordinator just wrote claimed the phase 2 with it (see PostgresWrite.ClaimsPhaseTwo).
        if (dueByUnixMs is null && _cache.TryTakeClaim(xid, TimeSpan.FromMilliseconds(_leaseMs / 3.0), out var claimed))
        {
            claimed.Attempts++;
            return claimed;
        }
        // One round trip: the claim, and the branches (read after the claim, and ignored without it).
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"""
                    UPDATE {_schema}.global_session
                    SET claim_owner = $2, claim_expires_unix_ms = {DatabaseNowMs} + $3, attempts = attempts + 1
                    WHERE xid = $1 AND status IN ({PhaseTwoStatuses}) AND next_attempt_unix_ms <= $4
                      AND (claim_owner IS NULL OR claim_owner = $2 OR claim_expires_unix_ms < {DatabaseNowMs})
                    RETURNING {PostgresRows.GlobalColumns}, version
                    """)
                {
                    Parameters = { new() { Value = xid }, new() { Value = InstanceId }, new() { Value = _leaseMs }, new() { Value = dueByUnixMs ?? long.MaxValue } },
                },
                new NpgsqlBatchCommand($"SELECT {PostgresRows.BranchColumns} FROM {_schema}.branch_session WHERE xid = $1 ORDER BY branch_id")
                {
                    Parameters = { new() { Value = xid } },
                },
            },
        };
        Statistics.RoundTrip(batch.BatchCommands.Count);
        await using var reader = await batch.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }
        var session = PostgresRows.ReadGlobal(reader);
        var version = reader.GetInt64(PostgresRows.GlobalColumnCount);
        await reader.NextResultAsync();
        await PostgresRows.ReadBranchesAsync(reader, _ => session);
        // The attempt's scopes here start from what the claim read (the claim leaves the version
        // alone): whoever wrote the transaction last, this coordinator's cache is fresh again.
        _cache.Put(session, version);
        return session;
    }

    public async Task<bool> RenewClaimAsync(string xid)
    {
        await using var command = _dataSource.CreateCommand(
            $"UPDATE {_schema}.global_session SET claim_expires_unix_ms = {DatabaseNowMs} + $3 WHERE xid = $1 AND claim_owner = $2");
        command.Parameters.Add(new() { Value = xid });
        command.Parameters.Add(new() { Value = InstanceId });
        command.Parameters.Add(new() { Value = _leaseMs });
        Statistics.RoundTrip(1);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task ReleaseClaimAsync(string xid)
    {
        // One round trip: the release, and a wake-up of the other coordinators when the attempt it
        // gave up is due already (this one is stopping, or its attempt stopped before the schedule).
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
            UPDATE {_schema}.global_session SET claim_owner = NULL, claim_expires_unix_ms = NULL
            WHERE xid = $1 AND claim_owner = $2
            RETURNING next_attempt_unix_ms <= $3
            """)
        {
            Parameters = { new() { Value = xid }, new() { Value = InstanceId }, new() { Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } },
        });
        Statistics.RoundTrip(1);
        bool due;
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            due = await reader.ReadAsync() && reader.GetBoolean(0);
        }
        if (due)
        {
            await NotifyPhaseTwoDueAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _open = false;
        await _writer.DisposeAsync();
        await _notifications.DisposeAsync();
        await _dataSource.DisposeAsync();
    }
}
