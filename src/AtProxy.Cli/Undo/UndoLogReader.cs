using Npgsql;

namespace AtProxy.Cli.Undo;

/// <summary>
/// Reads <c>atproxy_undo_log</c> straight from a resource database, read-only, and turns
/// connection and catalog failures into <see cref="CliFailure"/>s with exit codes.
/// </summary>
internal sealed class UndoLogReader
{
    private const string TableName = "atproxy_undo_log";
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
        var table = _schema is null ? TableName : $"{QuoteIdentifier(_schema)}.{TableName}";
        var sql = $"""
            SELECT branch_id, xid, context, rollback_info, log_status, log_created, log_modified
            FROM {table}
            WHERE ($1::text IS NULL OR xid = $1) AND ($2::bigint IS NULL OR branch_id = $2)
            ORDER BY log_created, xid, branch_id
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
            var status = reader.GetInt32(4);
            var (log, error) = status == UndoLogRow.GlobalFinishedStatus ? (null, null) : UndoLogDecoder.Decode(bytes, context);
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
            throw CliFailure.Refused($"This database has no {TableName} table in {where}. Check that --db names a resource database of AtProxy, or pass --schema.");
        }
        catch (PostgresException ex) when (ex.SqlState.StartsWith("28", StringComparison.Ordinal) || ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            throw CliFailure.Unreachable($"Cannot connect to the database: {ex.MessageText}. Check the connection string given with --db.", ex);
        }
        catch (PostgresException ex)
        {
            throw CliFailure.Refused($"The database refused to read {TableName}: {ex.MessageText} ({ex.SqlState}).");
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

    private static string QuoteIdentifier(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }
        return ex.Message.TrimEnd('.');
    }
}
