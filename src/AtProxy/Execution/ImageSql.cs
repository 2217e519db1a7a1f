using System.Data.Common;
using System.Globalization;
using System.Text;
using AtProxy.Metadata;
using AtProxy.Sql;
using AtProxy.Undo;

namespace AtProxy.Execution;

/// <summary>
/// The image queries of phase 1. Images hold each column's exact text form (its type's output
/// function), so every PostgreSQL type round-trips through the undo log unchanged and rollback
/// compares and restores values the way the database itself prints and parses them.
/// </summary>
internal static class ImageSql
{
    /// <summary>
    /// The rows an UPDATE or DELETE will change, locked: the statement's own target, joined tables
    /// and WHERE text (its parameters bind unchanged), <c>FOR UPDATE</c> of the target only.
    /// </summary>
    public static string BeforeUpdateOrDelete(DmlStatement statement, TableMetadata table)
    {
        var target = statement.Target!;
        var qualifier = UndoSql.Quote(target.Alias ?? table.Name);
        var sql = new StringBuilder("SELECT ");
        AppendTextColumns(sql, table, qualifier);
        sql.Append(" FROM ").Append(QuotedTable(table));
        if (target.Alias is not null)
        {
            sql.Append(" AS ").Append(UndoSql.Quote(target.Alias));
        }
        if (statement.FromList is { } from)
        {
            sql.Append(", ").Append(from.Text);
        }
        if (statement.Where is { } where)
        {
            sql.Append(" WHERE ").Append(where.Text);
        }
        sql.Append(statement.FromList is null ? " FOR UPDATE" : $" FOR UPDATE OF {qualifier}");
        return sql.ToString();
    }

    /// <summary>
    /// The rows an <c>INSERT ... ON CONFLICT (cols) DO UPDATE</c> will update: those whose conflict
    /// columns equal a VALUES row's, locked. The VALUES expressions are the user's own text.
    /// </summary>
    public static string BeforeUpsert(DmlStatement statement, TableMetadata table, IReadOnlyList<string> conflictColumns)
    {
        var indexes = conflictColumns.Select(c => IndexOfInsertColumn(statement, c)).ToArray();
        var sql = new StringBuilder("SELECT ");
        AppendTextColumns(sql, table, qualifier: null);
        sql.Append(" FROM ").Append(QuotedTable(table)).Append(" WHERE (");
        sql.AppendJoin(", ", conflictColumns.Select(UndoSql.Quote)).Append(") IN (");
        for (var r = 0; r < statement.ValuesRows.Count; r++)
        {
            if (r > 0)
            {
                sql.Append(", ");
            }
            sql.Append('(').AppendJoin(", ", indexes.Select(i => statement.ValuesRows[r][i].Text)).Append(')');
        }
        sql.Append(") FOR UPDATE");
        return sql.ToString();
    }

    /// <summary>
    /// The statement, made to also return its rows' keys as text (and, for an upsert, whether each
    /// row was inserted) as trailing columns after the user's own RETURNING list.
    /// </summary>
    public static (string Text, int ExtraColumns) WithKeyReturning(DmlStatement statement, TableMetadata table, bool withInsertedFlag)
    {
        // UPDATE ... FROM and DELETE ... USING may join tables with columns of the same name.
        var qualifier = statement.Kind is DmlKind.Update or DmlKind.Delete ? UndoSql.Quote(statement.Target!.Alias ?? table.Name) + "." : "";
        var extra = new StringBuilder();
        for (var i = 0; i < table.PrimaryKey.Count; i++)
        {
            if (i > 0)
            {
                extra.Append(", ");
            }
            extra.Append(qualifier).Append(UndoSql.Quote(table.PrimaryKey[i].Name)).Append("::text AS \"__atp_k").Append(i.ToString(CultureInfo.InvariantCulture)).Append('"');
        }
        if (withInsertedFlag)
        {
            // xmax is 0 for a row this statement inserted, set for one it updated (it holds our lock).
            extra.Append(", (xmax = 0) AS \"__atp_inserted\"");
        }
        var count = table.PrimaryKey.Count + (withInsertedFlag ? 1 : 0);
        var text = statement.Text;
        if (statement.Returning is { } returning)
        {
            var at = returning.Span.End - statement.Span.Start;
            return (text[..at] + ", " + extra + text[at..], count);
        }
        // A newline first, so a trailing line comment cannot swallow the clause.
        return (text.TrimEnd().TrimEnd(';') + "\nRETURNING " + extra, count);
    }

    /// <summary>
    /// The keys of the rows a <c>SELECT ... FOR UPDATE</c> locks, locking them the same way (its own
    /// FROM, WHERE, ORDER BY, LIMIT and row-lock clauses): the global-lock check needs them first.
    /// </summary>
    public static string SelectForUpdateKeys(DmlStatement statement, TableMetadata table)
    {
        var qualifier = UndoSql.Quote(statement.Target!.Qualifier);
        var sql = new StringBuilder("SELECT ");
        for (var i = 0; i < table.PrimaryKey.Count; i++)
        {
            if (i > 0)
            {
                sql.Append(", ");
            }
            sql.Append(qualifier).Append('.').Append(UndoSql.Quote(table.PrimaryKey[i].Name)).Append("::text");
        }
        sql.Append(" FROM ").Append(statement.FromList!.Text);
        if (statement.Where is { } where)
        {
            sql.Append(" WHERE ").Append(where.Text);
        }
        if (statement.OrderBy is { } orderBy)
        {
            sql.Append(" ORDER BY ").Append(orderBy.Text);
        }
        if (statement.Limit is { } limit)
        {
            sql.Append(' ').Append(limit.Text);
        }
        foreach (var rowLock in statement.RowLocks)
        {
            sql.Append(' ').Append(statement.TextOf(rowLock.Span));
        }
        return sql.ToString();
    }

    /// <summary>The rows with these key texts, all columns as text.</summary>
    public static void ByPrimaryKey(DbCommand command, TableMetadata table, IReadOnlyList<string[]> keys, bool forUpdate)
    {
        var sql = new StringBuilder("SELECT ");
        AppendTextColumns(sql, table, qualifier: null);
        sql.Append(" FROM ").Append(QuotedTable(table)).Append(" WHERE (");
        sql.AppendJoin(", ", table.PrimaryKey.Select(k => UndoSql.Quote(k.Name))).Append(") IN (SELECT * FROM unnest(");
        for (var k = 0; k < table.PrimaryKey.Count; k++)
        {
            if (k > 0)
            {
                sql.Append(", ");
            }
            var parameter = command.CreateParameter();
            parameter.ParameterName = "__atp_k" + k.ToString(CultureInfo.InvariantCulture);
            parameter.Value = keys.Select(key => key[k]).ToArray();
            command.Parameters.Add(parameter);
            sql.Append("CAST(@").Append(parameter.ParameterName).Append(" AS ").Append(ArrayTypeOf(table.PrimaryKey[k].DataType)).Append(')');
        }
        sql.Append("))");
        if (forUpdate)
        {
            sql.Append(" FOR UPDATE");
        }
        command.CommandText = sql.ToString();
    }

    public static string QuotedTable(TableMetadata table) => $"{UndoSql.Quote(table.Schema)}.{UndoSql.Quote(table.Name)}";

    private static string ArrayTypeOf(string dataType) => dataType.EndsWith(']') ? dataType : dataType + "[]";

    private static void AppendTextColumns(StringBuilder sql, TableMetadata table, string? qualifier)
    {
        for (var i = 0; i < table.Columns.Count; i++)
        {
            if (i > 0)
            {
                sql.Append(", ");
            }
            if (qualifier is not null)
            {
                sql.Append(qualifier).Append('.');
            }
            sql.Append(UndoSql.Quote(table.Columns[i].Name)).Append("::text");
        }
    }

    private static int IndexOfInsertColumn(DmlStatement statement, string column)
    {
        for (var i = 0; i < statement.InsertColumns.Count; i++)
        {
            if (statement.InsertColumns[i] == column)
            {
                return i;
            }
        }
        throw new AtProxyNotSupportedException(
            $"ON CONFLICT on column \"{column}\" is supported inside a global transaction only when the INSERT lists that column with a value (line {statement.Line}, column {statement.Column}).");
    }
}
