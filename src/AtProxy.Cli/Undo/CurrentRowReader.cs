using System.Text;
using AtProxy.Protocol;
using AtProxy.Protocol.Undo;
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

    /// <summary>
    /// The changes with each row's current values, printed as the record's format version prints them:
    /// version 2 through the proxy's image function (in <paramref name="undoSchema"/>, or the search
    /// path's) under its pinned settings, version 1 in this session's own.
    /// </summary>
    public static async Task<List<RowChange>> WithCurrentAsync(NpgsqlConnection connection, UndoRecord record, uint formatVersion, string? undoSchema, List<RowChange> changes, CancellationToken cancellationToken)
    {
        if (changes.Count == 0 || changes[0].KeyColumns.Count == 0)
        {
            return changes;
        }
        var canonical = formatVersion >= UndoValueText.FormatVersion;
        if (canonical)
        {
            // Keys are parsed back under the settings they were printed in; this session is the CLI's own.
            await using var pin = new NpgsqlCommand(UndoValueText.PinSettingsSql(local: false), connection);
            await pin.ExecuteNonQueryAsync(cancellationToken);
        }
        var sql = SelectByKey(record, changes[0].KeyColumns, canonical ? ImageFunction(undoSchema) : null);
        var result = new List<RowChange>(changes.Count);
        foreach (var change in changes)
        {
            result.Add(change with { Current = await ReadAsync(connection, sql, change, canonical, cancellationToken) });
        }
        return result;
    }

    private static string ImageFunction(string? undoSchema) =>
        PostgresIdentifier.Qualify(undoSchema, UndoValueText.ImageFunction);

    private static async Task<CurrentRow> ReadAsync(NpgsqlConnection connection, string sql, RowChange change, bool canonical, CancellationToken cancellationToken)
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
            if (canonical)
            {
                return new CurrentRow(RecordText.Split(reader.GetString(0), change.Columns.Count), null);
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
        catch (FormatException ex)
        {
            return new CurrentRow(null, ex.Message);
        }
    }

    // SELECT image(t.*) (or "a"::text, "b"::text) FROM "schema"."table" AS t WHERE "id" = $1: identifiers quoted, key values bound.
    private static string SelectByKey(UndoRecord record, IReadOnlyList<int> keyColumns, string? imageFunction)
    {
        var sql = new StringBuilder("SELECT ");
        if (imageFunction is null)
        {
            sql.AppendJoin(", ", record.Columns.Select(c => $"{PostgresIdentifier.Quote(c.Name)}::text"));
        }
        else
        {
            sql.Append(imageFunction).Append("(t.*)");
        }
        sql.Append(" FROM ").Append(PostgresIdentifier.Quote(record.Schema)).Append('.').Append(PostgresIdentifier.Quote(record.Table)).Append(" AS t WHERE ");
        sql.AppendJoin(" AND ", keyColumns.Select((column, i) => $"{PostgresIdentifier.Quote(record.Columns[column].Name)} = ${i + 1}"));
        return sql.ToString();
    }
}
