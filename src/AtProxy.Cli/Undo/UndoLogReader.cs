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
    public async Task<List<UndoLogRow>> ReadAsync(string? xid, long? branchId, int limit, CancellationToken cancellationToken)
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
        try
        {
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync(cancellationToken);
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
