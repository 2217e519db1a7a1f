using System.Text;
using AtProxy.Protocol.V1;
using Npgsql;
using NpgsqlTypes;

namespace AtProxy.Cli.Undo;

/// <summary>
/// Reads the rows an undo record names as the table holds them now, by primary key, so the
/// operator sees what a rollback would find: the after image (it can restore), the before image
/// (already restored) or something else (a dirty write to fix first).
/// </summary>
internal static class CurrentRowReader
{
    /// <summary>Beyond this many rows the current values are not read (an undo log of a bulk statement).</summary>
    public const int MaxRows = 1000;

    public static async Task<List<RowChange>> WithCurrentAsync(NpgsqlConnection connection, UndoRecord record, List<RowChange> changes, CancellationToken cancellationToken)
    {
        if (changes.Count == 0 || changes[0].KeyColumns.Count == 0)
        {
            return changes;
        }
        var sql = SelectByKey(record, changes[0].KeyColumns);
        var result = new List<RowChange>(changes.Count);
        foreach (var change in changes)
        {
            result.Add(change with { Current = await ReadAsync(connection, sql, change, cancellationToken) });
        }
        return result;
    }

    private static async Task<CurrentRow> ReadAsync(NpgsqlConnection connection, string sql, RowChange change, CancellationToken cancellationToken)
    {
        var keyRow = change.Before ?? change.After;
        try
        {
            await using var command = new NpgsqlCommand(sql, connection);
            foreach (var index in change.KeyColumns)
            {
                // Unknown-typed text: the server parses the key's text form as the column's own type.
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)RowChange.Value(keyRow, index) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Unknown });
            }
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new CurrentRow(null, null);
            }
            var values = new string?[change.Columns.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = reader.IsDBNull(i) ? null : reader.GetString(i);
            }
            return new CurrentRow(values, null);
        }
        catch (PostgresException ex)
        {
            return new CurrentRow(null, ex.MessageText);
        }
    }

    // SELECT "a"::text, "b"::text FROM "schema"."table" WHERE "id" = $1: identifiers quoted, key values bound.
    private static string SelectByKey(UndoRecord record, IReadOnlyList<int> keyColumns)
    {
        var sql = new StringBuilder("SELECT ");
        sql.AppendJoin(", ", record.Columns.Select(c => $"{Quote(c.Name)}::text"));
        sql.Append(" FROM ").Append(Quote(record.Schema)).Append('.').Append(Quote(record.Table)).Append(" WHERE ");
        sql.AppendJoin(" AND ", keyColumns.Select((column, i) => $"{Quote(record.Columns[column].Name)} = ${i + 1}"));
        return sql.ToString();
    }

    private static string Quote(string identifier) => $"\"{identifier.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
