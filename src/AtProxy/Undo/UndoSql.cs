using System.Data.Common;
using System.Text;
using AtProxy.Protocol.V1;

namespace AtProxy.Undo;

/// <summary>
/// The SQL of a rollback, built from an undo record alone (no catalog access needed): the
/// dirty-write check reads the rows' current text form by primary key, and the reverse
/// statements write the images' text values back through casts to the columns' own types.
/// Identifiers are quoted; every value is a parameter.
/// </summary>
internal static class UndoSql
{
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    public static string Table(UndoRecord record) => $"{Quote(record.Schema)}.{Quote(record.Table)}";

    public static int[] KeyIndexes(UndoRecord record) =>
        record.PrimaryKey.Select(k => IndexOf(record, k)).ToArray();

    /// <summary>
    /// <c>SELECT col::text, ... FROM t WHERE (pk) IN ((...), ...) FOR UPDATE</c> for the given rows.
    /// </summary>
    public static void CurrentRows(DbCommand command, UndoRecord record, IReadOnlyList<UndoRow> rows)
    {
        var sql = new StringBuilder("SELECT ");
        AppendTextColumns(sql, record.Columns);
        sql.Append(" FROM ").Append(Table(record)).Append(" WHERE ");
        AppendKeyMatch(command, sql, record, rows);
        sql.Append(" FOR UPDATE");
        command.CommandText = sql.ToString();
    }

    public static void DeleteRow(DbCommand command, UndoRecord record, UndoRow row)
    {
        var sql = new StringBuilder("DELETE FROM ").Append(Table(record)).Append(" WHERE ");
        AppendKeyMatch(command, sql, record, [row]);
        command.CommandText = sql.ToString();
    }

    public static void InsertRow(DbCommand command, UndoRecord record, UndoRow row)
    {
        var writable = Enumerable.Range(0, record.Columns.Count).Where(i => !record.Columns[i].Generated).ToArray();
        var sql = new StringBuilder("INSERT INTO ").Append(Table(record)).Append(" (");
        sql.AppendJoin(", ", writable.Select(i => Quote(record.Columns[i].Name))).Append(')');
        if (writable.Any(i => record.Columns[i].IdentityAlways))
        {
            sql.Append(" OVERRIDING SYSTEM VALUE");
        }
        sql.Append(" VALUES (");
        sql.AppendJoin(", ", writable.Select(i => Cast(command, row.Values[i], record.Columns[i])));
        sql.Append(')');
        command.CommandText = sql.ToString();
    }

    /// <summary>Sets every writable non-key column back to <paramref name="before"/>'s values.</summary>
    public static void UpdateRow(DbCommand command, UndoRecord record, UndoRow before)
    {
        var keys = new HashSet<string>(record.PrimaryKey, StringComparer.Ordinal);
        var sets = Enumerable.Range(0, record.Columns.Count)
            .Where(i => !record.Columns[i].Generated && !keys.Contains(record.Columns[i].Name))
            .Select(i => $"{Quote(record.Columns[i].Name)} = {Cast(command, before.Values[i], record.Columns[i])}")
            .ToArray();
        if (sets.Length == 0)
        {
            command.CommandText = "";
            return;
        }
        var sql = new StringBuilder("UPDATE ").Append(Table(record)).Append(" SET ").AppendJoin(", ", sets).Append(" WHERE ");
        AppendKeyMatch(command, sql, record, [before]);
        command.CommandText = sql.ToString();
    }

    private static void AppendTextColumns(StringBuilder sql, IReadOnlyList<UndoColumn> columns)
    {
        for (var i = 0; i < columns.Count; i++)
        {
            if (i > 0)
            {
                sql.Append(", ");
            }
            sql.Append(Quote(columns[i].Name)).Append("::text");
        }
    }

    private static void AppendKeyMatch(DbCommand command, StringBuilder sql, UndoRecord record, IReadOnlyList<UndoRow> rows)
    {
        var keyIndexes = KeyIndexes(record);
        sql.Append('(').AppendJoin(", ", keyIndexes.Select(i => Quote(record.Columns[i].Name))).Append(") IN (");
        for (var r = 0; r < rows.Count; r++)
        {
            if (r > 0)
            {
                sql.Append(", ");
            }
            sql.Append('(').AppendJoin(", ", keyIndexes.Select(i => Cast(command, rows[r].Values[i], record.Columns[i]))).Append(')');
        }
        sql.Append(')');
    }

    /// <summary>A parameter holding the value's text, cast to the column's type by the server.</summary>
    private static string Cast(DbCommand command, UndoValue value, UndoColumn column)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = "p" + command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        parameter.DbType = System.Data.DbType.String;
        parameter.Value = RowImage.Text(value) is { } text ? text : DBNull.Value;
        command.Parameters.Add(parameter);
        return $"CAST(@{parameter.ParameterName} AS {column.DataType})";
    }

    private static int IndexOf(UndoRecord record, string column)
    {
        for (var i = 0; i < record.Columns.Count; i++)
        {
            if (record.Columns[i].Name == column)
            {
                return i;
            }
        }
        throw new AtProxyException($"Undo record of {record.Schema}.{record.Table} has no column {column} of its primary key.");
    }
}
