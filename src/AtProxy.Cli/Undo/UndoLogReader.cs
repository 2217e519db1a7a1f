using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using Npgsql;
using static AtProxy.Protocol.Undo.UndoLogTables.Columns;

namespace AtProxy.Cli.Undo;

/// <summary>
/// Reads <c>atproxy_undo_log</c> straight from a resource database, read-only, and turns
/// connection and catalog failures into <see cref="CliFailure"/>s with exit codes.
/// </summary>
internal sealed class UndoLogReader
{
    private readonly string _connectionString;
    private readonly string? _schema;

    public UndoLogReader(string connectionString, string? schema)
    {
        try
        {
            _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "atproxy-cli" }.ConnectionString;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw CliFailure.Usage($"The connection string given with --db is not valid: {ex.Message} Write it as Host=...;Database=...;Username=...");
        }
        _schema = string.IsNullOrWhiteSpace(schema) ? null : schema;
    }

    /// <summary>Rows oldest first, filtered by XID and branch when given.</summary>
    public Task<List<UndoLogRow>> ReadAsync(string? xid, long? branchId, int limit, CancellationToken cancellationToken) =>
        RunAsync(connection => ReadRowsAsync(connection, xid, branchId, limit, cancellationToken), cancellationToken);

    /// <summary>
    /// The rows of one transaction (or branch) with before and after paired per row and, when
    /// <paramref name="readCurrent"/>, each row as its table holds it now.
    /// </summary>
    public Task<List<UndoDetail>> ReadDetailAsync(string xid, long? branchId, int limit, bool readCurrent, CancellationToken cancellationToken) =>
        RunAsync(async connection =>
        {
            var rows = await ReadRowsAsync(connection, xid, branchId, limit, cancellationToken);
            var budget = readCurrent ? CurrentRowReader.MaxRows : 0;
            var details = new List<UndoDetail>(rows.Count);
            foreach (var row in rows)
            {
                var records = new List<UndoRecordDetail>();
                foreach (var record in row.Log?.Records ?? [])
                {
                    var changes = RowChange.Of(record);
                    if (changes.Count <= budget)
                    {
                        budget -= changes.Count;
                        changes = await CurrentRowReader.WithCurrentAsync(connection, record, row.Log!.FormatVersion, _schema, changes, cancellationToken);
                    }
                    records.Add(new UndoRecordDetail(record, changes));
                }
                details.Add(new UndoDetail(row, records));
            }
            return details;
        }, cancellationToken);

    private async Task<List<UndoLogRow>> ReadRowsAsync(NpgsqlConnection connection, string? xid, long? branchId, int limit, CancellationToken cancellationToken)
    {
        // The table lives in the connection's current schema unless the proxy was configured otherwise.
        var sql = $"""
            SELECT {BranchId}, {Xid}, {Context}, {RollbackInfo}, {LogStatus}, {LogCreated}, {LogModified}
            FROM {UndoLogTables.QualifiedUndoLog(_schema)}
            WHERE ($1::text IS NULL OR {Xid} = $1) AND ($2::bigint IS NULL OR {BranchId} = $2)
            ORDER BY {LogCreated}, {Xid}, {BranchId}
            LIMIT $3
            """;
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)xid ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)branchId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<UndoLogRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var context = reader.GetString(2);
            var bytes = reader.IsDBNull(3) ? [] : (byte[])reader.GetValue(3);
            var status = (UndoLogStatus)reader.GetInt32(4);
            BranchUndoLog? log = null;
            string? error = null;
            if (status != UndoLogStatus.GlobalFinished)
            {
                UndoLogCodec.TryDecode(bytes, context, out log, out error);
            }
            rows.Add(new UndoLogRow(
                reader.GetString(1), reader.GetInt64(0), context, status, bytes.Length,
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6), log, error));
        }
        return rows;
    }

    // Opens the connection and turns every database failure into an exit code the operator can act on.
    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync(cancellationToken);
            return await read(connection);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            var where = _schema is null ? "the connection's search path" : $"schema '{_schema}'";
            throw CliFailure.Refused($"This database has no {UndoLogTables.UndoLog} table in {where}. Check that --db names a resource database of AtProxy, or pass --schema.");
        }
        catch (PostgresException ex) when (ex.SqlState.StartsWith("28", StringComparison.Ordinal) || ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            throw CliFailure.Unreachable($"Cannot connect to the database: {ex.MessageText}. Check the connection string given with --db.", ex);
        }
        catch (PostgresException ex)
        {
            throw CliFailure.Refused($"The database refused to read {UndoLogTables.UndoLog}: {ex.MessageText} ({ex.SqlState}).");
        }
        catch (NpgsqlException ex)
        {
            throw CliFailure.Unreachable($"Cannot reach the database ({Innermost(ex)}). Check that it is running and the connection string given with --db.", ex);
        }
        catch (TimeoutException ex)
        {
            throw CliFailure.Unreachable($"The database did not answer in time ({ex.Message}). Check that it is running and the connection string given with --db.", ex);
        }
    }

    private static string Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }
        return ex.Message.TrimEnd('.');
    }
}
