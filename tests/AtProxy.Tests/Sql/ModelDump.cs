using System.Text;
using AtProxy.Sql;

namespace AtProxy.Tests.Sql;

/// <summary>A stable text rendering of a <see cref="RecognizedCommand"/>, compared against the corpus.</summary>
internal static class ModelDump
{
    public static string Render(RecognizedCommand command)
    {
        var text = new StringBuilder();
        foreach (var s in command.Statements)
        {
            text.Append('#').Append(s.Index).Append(' ').Append(s.Kind);
            if (s.Target is { } target)
            {
                text.Append(' ').Append(Table(target));
            }
            text.Append(" @").Append(s.Line).Append(':').Append(s.Column).Append('\n');
            if (s.Unsupported is { } unsupported)
            {
                Line(text, "unsupported", unsupported.Message);
            }
            foreach (var set in s.Set)
            {
                Line(text, "set", set.Column + " = " + Value(set.Value));
            }
            if (s.InsertColumns.Count > 0)
            {
                Line(text, "columns", string.Join(", ", s.InsertColumns));
            }
            foreach (var row in s.ValuesRows)
            {
                Line(text, "values", "(" + string.Join(", ", row.Select(Value)) + ")");
            }
            if (s.IsDefaultValues)
            {
                Line(text, "values", "DEFAULT VALUES");
            }
            if (s.FromList is { } from)
            {
                Line(text, "from", from.Text);
            }
            if (s.JoinedTables.Count > 0)
            {
                Line(text, "joined", string.Join(", ", s.JoinedTables.Select(Table)));
            }
            if (s.Where is { } where)
            {
                Line(text, "where", where.Text);
            }
            if (s.OnConflict is { } conflict)
            {
                var conflictTarget = conflict.ConstraintName is not null ? "on constraint " + conflict.ConstraintName
                    : conflict.TargetColumns.Count > 0 ? "(" + string.Join(", ", conflict.TargetColumns) + ")" : "(none)";
                if (conflict.TargetWhere is { } targetWhere)
                {
                    conflictTarget += " where " + targetWhere.Text;
                }
                Line(text, "conflict", conflictTarget + " " + conflict.Action);
                foreach (var set in conflict.Set)
                {
                    Line(text, "conflict set", set.Column + " = " + Value(set.Value));
                }
                if (conflict.Where is { } conflictWhere)
                {
                    Line(text, "conflict where", conflictWhere.Text);
                }
            }
            if (s.OrderBy is { } orderBy)
            {
                Line(text, "order by", orderBy.Text);
            }
            if (s.Limit is { } limit)
            {
                Line(text, "limit", limit.Text);
            }
            foreach (var rowLock in s.RowLocks)
            {
                Line(text, "lock", rowLock.Strength + (rowLock.OfTables.Count > 0 ? " of " + string.Join(", ", rowLock.OfTables) : "")
                    + (rowLock.Wait == RowLockWait.Wait ? "" : " " + rowLock.Wait));
            }
            if (s.Returning is { } returning)
            {
                Line(text, "returning", returning.Text);
            }
            if (s.Parameters.Count > 0)
            {
                Line(text, "params", string.Join(", ", s.Parameters));
            }
            if (s.Masks.Count > 0)
            {
                Line(text, "masks", string.Join(", ", s.Masks.Select(m => m.Kind + "(" + m.Span.Of(command.CommandText) + ")")));
            }
        }
        return text.ToString().TrimEnd('\n');
    }

    private static string Table(TableReference table) =>
        (table.Only ? "ONLY " : "") + (table.Schema is null ? "" : table.Schema + ".") + table.Name + (table.Alias is null ? "" : " AS " + table.Alias);

    private static string Value(SqlExpression value) => value.Text + " :" + value.Kind switch
    {
        SqlExpressionKind.Literal => "L",
        SqlExpressionKind.Parameter => "P",
        SqlExpressionKind.Null => "N",
        SqlExpressionKind.Default => "D",
        _ => "E",
    };

    private static void Line(StringBuilder text, string label, string value) =>
        text.Append("  ").Append(label).Append(": ").Append(value.Replace("\r\n", "\\n", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
}
