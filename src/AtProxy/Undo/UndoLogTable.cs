using System.Data.Common;
using AtProxy.Images;
using AtProxy.Protocol;
using AtProxy.Protocol.Undo;
using Npgsql;
using static AtProxy.Protocol.Undo.UndoLogTables.Columns;

namespace AtProxy.Undo;

/// <summary>
/// The <c>atproxy_undo_log</c> table of one resource database: created on first use in the
/// configured schema (or the connection's current one), one row per branch, unique on (xid, branch).
/// Its names and statuses are <see cref="UndoLogTables"/> and <see cref="UndoLogStatus"/>, which the CLI reads by.
/// </summary>
internal sealed class UndoLogTable
{
    private readonly string? _configuredSchema;
    private readonly SemaphoreSlim _ensureLock = new(1, 1);
    private volatile string? _qualifiedName;
    private string? _schema;

    public UndoLogTable(string? configuredSchema) => _configuredSchema = configuredSchema;

    /// <summary>The table's schema (unquoted), which also holds AtProxy's image functions; once known.</summary>
    public string Schema => _schema ?? throw new InvalidOperationException("The undo log table is not resolved yet.");

    /// <summary>The quoted, schema-qualified table name, once known.</summary>
    public string QualifiedName => _qualifiedName ?? throw new InvalidOperationException("The undo log table is not resolved yet.");

    /// <summary>Resolves the schema and creates the table (and the image functions) when missing; cheap after the first call.</summary>
    /// <remarks>
    /// Runs on a connection of its own, so that DDL never joins (or aborts) an application transaction.
    /// </remarks>
    public async Task EnsureAsync(Func<CancellationToken, ValueTask<DbConnection>> openConnection, CancellationToken cancellationToken)
    {
        if (_qualifiedName is not null)
        {
            return;
        }
        await _ensureLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_qualifiedName is not null)
            {
                return;
            }
            var connection = await openConnection(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            var schema = _configuredSchema;
            if (string.IsNullOrEmpty(schema))
            {
                var current = connection.CreateCommand();
                await using var currentDisposal = current.ConfigureAwait(false);
                current.CommandText = "SELECT current_schema()";
                schema = await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string
                    ?? throw new AtProxyException($"The connection has no current schema to create {UndoLogTables.UndoLog} in; set AtProxyOptions.UndoLogSchema.");
            }
            var name = UndoLogTables.QualifiedUndoLog(schema);
            if (!await ExistsAsync(connection, name, cancellationToken).ConfigureAwait(false))
            {
                await CreateAsync(connection, name, cancellationToken).ConfigureAwait(false);
            }
            await CanonicalText.EnsureFunctionsAsync(connection, PostgresIdentifier.Quote(schema), cancellationToken).ConfigureAwait(false);
            _schema = schema;
            _qualifiedName = name;
        }
        finally
        {
            _ensureLock.Release();
        }
    }

    /// <summary>Forgets where the table is, so the next <see cref="EnsureAsync"/> resolves (and creates) it again.</summary>
    public void Forget()
    {
        _qualifiedName = null;
        _schema = null;
    }

    /// <summary>Whether the table exists: a role without CREATE on the schema may use one its owner created, so look before creating.</summary>
    internal static async Task<bool> ExistsAsync(DbConnection connection, string name, CancellationToken cancellationToken)
    {
        var exists = connection.CreateCommand();
        await using var existsDisposal = exists.ConfigureAwait(false);
        exists.CommandText = "SELECT to_regclass(@name) IS NOT NULL";
        var parameter = exists.CreateParameter();
        parameter.ParameterName = "name";
        parameter.Value = name;
        exists.Parameters.Add(parameter);
        return await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
    }

    private static async Task CreateAsync(DbConnection connection, string name, CancellationToken cancellationToken)
    {
        var create = connection.CreateCommand();
        await using var createDisposal = create.ConfigureAwait(false);
        create.CommandText = $"""
            CREATE TABLE IF NOT EXISTS {name} (
                {BranchId}      bigint       NOT NULL,
                {Xid}           varchar(128) NOT NULL,
                {Context}       varchar(128) NOT NULL,
                {RollbackInfo}  bytea        NOT NULL,
                {LogStatus}     integer      NOT NULL,
                {LogCreated}    timestamptz  NOT NULL DEFAULT now(),
                {LogModified}   timestamptz  NOT NULL DEFAULT now(),
                CONSTRAINT {UndoLogTables.BranchKeyConstraint} UNIQUE ({Xid}, {BranchId}));
            CREATE INDEX IF NOT EXISTS {UndoLogTables.CreatedIndex} ON {name} ({LogCreated});
            CREATE INDEX IF NOT EXISTS {UndoLogTables.CommittedIndex} ON {name} ({LogModified}) WHERE {LogStatus} = {(int)UndoLogStatus.Committed};
            """;
        try
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject)
        {
            // Another process created it at the same moment.
        }
    }

    /// <summary>
    /// Writes the branch's undo row in its local transaction; with <paramref name="commit"/>, also
    /// commits that transaction in the same round trip (the COMMIT is skipped by the server when the
    /// insert fails, which leaves the transaction to be rolled back).
    /// </summary>
    public async Task InsertAsync(DbConnection connection, DbTransaction transaction, string xid, long branchId, byte[] rollbackInfo, string context, UndoLogStatus status, bool commit, CancellationToken cancellationToken)
    {
        var batch = connection.CreateBatch();
        await using var batchDisposal = batch.ConfigureAwait(false);
        batch.Transaction = transaction;
        var insert = batch.CreateBatchCommand();
        insert.CommandText = $"INSERT INTO {QualifiedName} ({BranchId}, {Xid}, {Context}, {RollbackInfo}, {LogStatus}) VALUES (@b, @x, @c, @r, @s)";
        AddParameter(insert, "b", branchId);
        AddParameter(insert, "x", xid);
        AddParameter(insert, "c", context);
        AddParameter(insert, "r", rollbackInfo);
        AddParameter(insert, "s", (int)status);
        batch.BatchCommands.Add(insert);
        if (commit)
        {
            var commitCommand = batch.CreateBatchCommand();
            commitCommand.CommandText = "COMMIT";
            batch.BatchCommands.Add(commitCommand);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The branch's undo row, read without locking it (to show it), or null when there is none.</summary>
    public async Task<(byte[] RollbackInfo, string Context, UndoLogStatus Status)?> ReadAsync(DbConnection connection, DbTransaction transaction, string xid, long branchId,
        CancellationToken cancellationToken)
    {
        var batch = connection.CreateBatch();
        await using var batchDisposal = batch.ConfigureAwait(false);
        batch.Transaction = transaction;
        AddLoad(batch, xid, branchId, forUpdate: false);
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        return await ReadLoadedAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds to <paramref name="batch"/> the statement that loads the branch's undo row <c>FOR UPDATE</c>, for a
    /// caller that sends more in the same round trip; read its result with <see cref="ReadLoadedAsync"/>.
    /// </summary>
    public void AddLoadForUpdate(DbBatch batch, string xid, long branchId) => AddLoad(batch, xid, branchId, forUpdate: true);

    private void AddLoad(DbBatch batch, string xid, long branchId, bool forUpdate)
    {
        var select = batch.CreateBatchCommand();
        select.CommandText = $"SELECT {RollbackInfo}, {Context}, {LogStatus} FROM {QualifiedName} WHERE {Xid} = @x AND {BranchId} = @b" + (forUpdate ? " FOR UPDATE" : "");
        AddParameter(select, "x", xid);
        AddParameter(select, "b", branchId);
        batch.BatchCommands.Add(select);
    }

    /// <summary>The undo row of the load's result the reader is on, or null when there is none.</summary>
    public static async Task<(byte[] RollbackInfo, string Context, UndoLogStatus Status)?> ReadLoadedAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        return ((byte[])reader.GetValue(0), reader.GetString(1), (UndoLogStatus)reader.GetInt32(2));
    }

    /// <summary>
    /// Deletes the branch's undo row in <paramref name="transaction"/> and commits it in the same round
    /// trip (the COMMIT is skipped by the server when the delete fails, which leaves the transaction to
    /// be rolled back).
    /// </summary>
    public async Task DeleteAndCommitAsync(DbConnection connection, DbTransaction transaction, string xid, long branchId, CancellationToken cancellationToken)
    {
        var batch = connection.CreateBatch();
        await using var batchDisposal = batch.ConfigureAwait(false);
        batch.Transaction = transaction;
        var delete = batch.CreateBatchCommand();
        delete.CommandText = $"DELETE FROM {QualifiedName} WHERE {Xid} = @x AND {BranchId} = @b";
        AddParameter(delete, "x", xid);
        AddParameter(delete, "b", branchId);
        batch.BatchCommands.Add(delete);
        var commit = batch.CreateBatchCommand();
        commit.CommandText = "COMMIT";
        batch.BatchCommands.Add(commit);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the undo rows of many committed branches in one statement.</summary>
    public Task<int> DeleteManyAsync(DbConnection connection, IReadOnlyList<(string Xid, long BranchId)> branches, CancellationToken cancellationToken) =>
        RunForManyAsync(connection, $"DELETE FROM {QualifiedName} WHERE ({Xid}, {BranchId}) IN (SELECT * FROM unnest(@xids::varchar[], @bids::bigint[]))",
            branches, cancellationToken);

    /// <summary>
    /// Marks the undo rows of many committed branches <see cref="UndoLogStatus.Committed"/> (kept as
    /// an audit trail until the purge deletes them) in one statement.
    /// </summary>
    public Task<int> MarkCommittedManyAsync(DbConnection connection, IReadOnlyList<(string Xid, long BranchId)> branches, CancellationToken cancellationToken) =>
        RunForManyAsync(connection, $"UPDATE {QualifiedName} SET {LogStatus} = {(int)UndoLogStatus.Committed}, {LogModified} = now() " +
            $"WHERE {LogStatus} = {(int)UndoLogStatus.Normal} AND ({Xid}, {BranchId}) IN (SELECT * FROM unnest(@xids::varchar[], @bids::bigint[]))",
            branches, cancellationToken);

    // With a generic plan: PostgreSQL otherwise plans a prepared statement over unnest of array parameters
    // again on every execution, which costs more than the write itself. The setting is local to the one
    // implicit transaction both statements run in (one round trip, one Sync), so the pooled session keeps its own.
    private static async Task<int> RunForManyAsync(DbConnection connection, string sql, IReadOnlyList<(string Xid, long BranchId)> branches, CancellationToken cancellationToken)
    {
        var batch = connection.CreateBatch();
        await using var batchDisposal = batch.ConfigureAwait(false);
        var generic = batch.CreateBatchCommand();
        generic.CommandText = "SELECT " + GenericPlansCall;
        batch.BatchCommands.Add(generic);
        var write = batch.CreateBatchCommand();
        write.CommandText = sql;
        AddParameter(write, "xids", branches.Select(b => b.Xid).ToArray());
        AddParameter(write, "bids", branches.Select(b => b.BranchId).ToArray());
        batch.BatchCommands.Add(write);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return write.RecordsAffected;
    }

    /// <summary>
    /// The call that asks for generic plans for the rest of the transaction. A plan never changes what a
    /// statement does; statements that select by arrays of keys otherwise get a custom plan, planned anew every time.
    /// </summary>
    public const string GenericPlansCall = "set_config('plan_cache_mode', 'force_generic_plan', true)";

    internal static void AddParameter(DbCommand command, string name, object value) =>
        command.Parameters.Add(Parameter(command.CreateParameter(), name, value));

    private static void AddParameter(DbBatchCommand command, string name, object value) =>
        command.Parameters.Add(Parameter(command.CreateParameter(), name, value));

    private static DbParameter Parameter(DbParameter parameter, string name, object value)
    {
        parameter.ParameterName = name;
        parameter.Value = value;
        return parameter;
    }
}
