using AtProxy.Metadata;

namespace AtProxy.Sql;

/// <summary>
/// The checks that need the target table's metadata: what the recognizer alone cannot know.
/// Each refusal names the construct and where it is, before anything runs.
/// </summary>
internal static class StatementValidation
{
    /// <summary>
    /// Raises <see cref="AtProxyNotSupportedException"/> when <paramref name="statement"/> cannot run in
    /// a global transaction against <paramref name="table"/>.
    /// </summary>
    public static void EnsureSupported(DmlStatement statement, TableMetadata table)
    {
        statement.EnsureSupported();
        if (!statement.IsWrite && statement.Kind != DmlKind.SelectForUpdate)
        {
            return;
        }
        var at = statement.Target?.Span.Start ?? statement.Span.Start;
        if (table.IsView)
        {
            throw ViewRefusal(statement, table).ToException();
        }
        if (table.PrimaryKey.Count == 0)
        {
            throw statement.Refuse($"{Describe(statement)} on a table without a primary key ({table.CanonicalName})", at,
                "rows are locked and restored by primary key").ToException();
        }
        if (statement.Kind == DmlKind.Update)
        {
            RefusePrimaryKeyAssignments(statement, table, statement.Set);
        }
        if (statement.OnConflict is { Action: ConflictAction.DoUpdate } conflict)
        {
            RefusePrimaryKeyAssignments(statement, table, conflict.Set);
            foreach (var target in conflict.TargetColumns)
            {
                if (table.FindColumn(target) is null)
                {
                    throw statement.Refuse("ON CONFLICT DO UPDATE on an index expression", conflict.Span.Start,
                        $"'{target}' is not a column of {table.CanonicalName}").ToException();
                }
                var index = InsertValueIndex(statement, table, target);
                if (index < 0)
                {
                    throw statement.Refuse($"ON CONFLICT DO UPDATE whose conflict column \"{target}\" is not in the INSERT", conflict.Span.Start).ToException();
                }
                RefuseComputedConflictValues(statement, index);
            }
        }
    }

    /// <summary>The refusal of DML on a view (the proxy finds views from metadata).</summary>
    public static UnsupportedConstruct ViewRefusal(DmlStatement statement, TableMetadata view) =>
        statement.Refuse($"{Describe(statement)} on a view ({view.CanonicalName})", statement.Target?.Span.Start ?? statement.Span.Start,
            "write to its base table instead");

    /// <summary>
    /// Where a column's value sits in each VALUES row: its index in the INSERT column list, or in
    /// table order when the list is omitted; -1 when the INSERT does not give it.
    /// </summary>
    public static int InsertValueIndex(DmlStatement statement, TableMetadata table, string column)
    {
        if (statement.InsertColumns.Count > 0)
        {
            for (var i = 0; i < statement.InsertColumns.Count; i++)
            {
                if (statement.InsertColumns[i] == column)
                {
                    return i;
                }
            }
            return -1;
        }
        var index = -1;
        for (var i = 0; i < table.Columns.Count; i++)
        {
            if (table.Columns[i].Name == column)
            {
                index = i;
                break;
            }
        }
        return statement.ValuesRows.Count > 0 && index >= 0 && index < statement.ValuesRows[0].Count ? index : -1;
    }

    /// <summary>
    /// The before image of an upsert finds the rows it collides with by the conflict columns' values,
    /// so those must be known before it runs: literals or parameters, not something the server computes.
    /// </summary>
    public static void RefuseComputedConflictValues(DmlStatement statement, int valueIndex)
    {
        foreach (var row in statement.ValuesRows)
        {
            var value = row[valueIndex];
            if (value.Kind is not (SqlExpressionKind.Literal or SqlExpressionKind.Parameter or SqlExpressionKind.Null))
            {
                throw statement.Refuse("ON CONFLICT DO UPDATE whose conflict value is computed by the server", value.Span.Start,
                    $"'{value.Text}' is not a literal or a parameter").ToException();
            }
        }
    }

    private static void RefusePrimaryKeyAssignments(DmlStatement statement, TableMetadata table, IReadOnlyList<ColumnAssignment> assignments)
    {
        foreach (var assignment in assignments)
        {
            if (table.PrimaryKey.Any(key => key.Name == assignment.Column))
            {
                throw statement.Refuse($"Updating primary-key column \"{assignment.Column}\" of {table.CanonicalName}", assignment.ColumnSpan.Start,
                    "undo and global locks identify rows by primary key").ToException();
            }
        }
    }

    private static string Describe(DmlStatement statement) => statement.Kind switch
    {
        DmlKind.Insert => "INSERT",
        DmlKind.Update => "UPDATE",
        DmlKind.Delete => "DELETE",
        DmlKind.Upsert => "INSERT ... ON CONFLICT",
        _ => "SELECT ... FOR UPDATE",
    };
}
