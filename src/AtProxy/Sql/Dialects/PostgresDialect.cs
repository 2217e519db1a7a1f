using System.Collections;
using System.Text;
using AtProxy.Metadata;

namespace AtProxy.Sql.Dialects;

/// <summary>
/// PostgreSQL: image, lock, dirty-check and undo SQL. Generated statements quote every identifier
/// and bind every value as a parameter named <c>@__atp_N</c>; image queries splice the user's own
/// WHERE / FROM / VALUES text unchanged, so the user's parameters bind to them as they are.
/// </summary>
internal sealed class PostgresDialect : ISqlDialect
{
    /// <summary>The one instance; the dialect has no state.</summary>
    public static PostgresDialect Instance { get; } = new();

    /// <inheritdoc />
    public string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <inheritdoc />
    public string QuoteTable(TableMetadata table) => QuoteIdentifier(table.Schema) + "." + QuoteIdentifier(table.Name);

    /// <inheritdoc />
    public void EnsureSupported(DmlStatement statement, TableMetadata table) =>
        StatementValidation.EnsureSupported(statement, table);

    /// <inheritdoc />
    public GeneratedSql? BuildBeforeImage(DmlStatement statement, TableMetadata table, IReadOnlyList<string>? constraintColumns = null)
    {
        var target = statement.Target ?? throw new ArgumentException($"A {statement.Kind} statement has no target table.", nameof(statement));
        switch (statement.Kind)
        {
            case DmlKind.Update or DmlKind.Delete:
            {
                var qualifier = QuoteIdentifier(target.Alias ?? table.Name);
                var sql = new StringBuilder("SELECT ");
                AppendColumns(sql, table, qualifier);
                sql.Append(target.Only ? " FROM ONLY " : " FROM ").Append(QuoteTable(table));
                if (target.Alias is not null)
                {
                    sql.Append(" AS ").Append(qualifier);
                }
                if (statement.FromList is { } from)
                {
                    sql.Append(", ").Append(from.Text);
                }
                if (statement.Where is { } where)
                {
                    sql.Append(" WHERE ").Append(where.Text);
                }
                // With a join the lock must stay on the target's rows, not on the joined tables' rows.
                sql.Append(statement.FromList is null ? " FOR UPDATE" : " FOR UPDATE OF " + qualifier);
                return new GeneratedSql(sql.ToString(), [], UsesParameters(statement, statement.FromList, statement.Where));
            }
            case DmlKind.Upsert:
                return BuildConflictImage(statement, table, constraintColumns);
            case DmlKind.SelectForUpdate:
            {
                var sql = new StringBuilder("SELECT ");
                AppendColumns(sql, table, QuoteIdentifier(target.Qualifier));
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
                return new GeneratedSql(sql.ToString(), [], statement.Parameters.Count > 0);
            }
            case DmlKind.Insert:
                return null;
            default:
                throw new ArgumentException($"A {statement.Kind} statement has no before image.", nameof(statement));
        }
    }

    // The rows an upsert's VALUES collide with: those whose conflict columns equal a VALUES row's.
    private GeneratedSql? BuildConflictImage(DmlStatement statement, TableMetadata table, IReadOnlyList<string>? constraintColumns)
    {
        var conflict = statement.OnConflict!;
        if (conflict.Action == ConflictAction.DoNothing)
        {
            return null; // an existing row is never changed, so there is nothing to restore
        }
        var columns = conflict.ConstraintName is null ? conflict.TargetColumns : constraintColumns;
        if (columns is null)
        {
            throw statement.Refuse("ON CONFLICT ON CONSTRAINT ... DO UPDATE without the constraint's columns", conflict.Span.Start,
                "resolve the constraint's columns from the catalog and pass them").ToException();
        }
        var valueIndexes = new int[columns.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            valueIndexes[i] = StatementValidation.InsertValueIndex(statement, table, columns[i]);
            if (valueIndexes[i] < 0)
            {
                throw statement.Refuse($"ON CONFLICT DO UPDATE whose conflict column \"{columns[i]}\" is not in the INSERT", conflict.Span.Start).ToException();
            }
            StatementValidation.RefuseComputedConflictValues(statement, valueIndexes[i]);
        }

        var sql = new StringBuilder("SELECT ");
        AppendColumns(sql, table, QuoteIdentifier(table.Name));
        sql.Append(" FROM ").Append(QuoteTable(table)).Append(" WHERE ");
        sql.Append(columns.Count == 1 ? "" : "(");
        sql.AppendJoin(", ", columns.Select(c => QuoteIdentifier(table.Name) + "." + QuoteIdentifier(c)));
        sql.Append(columns.Count == 1 ? " IN (" : ") IN (");
        var rows = 0;
        foreach (var row in statement.ValuesRows)
        {
            var values = valueIndexes.Select(index => row[index]).ToList();
            if (values.Any(v => v.Kind == SqlExpressionKind.Null))
            {
                continue; // NULL never conflicts
            }
            sql.Append(rows++ == 0 ? "" : ", ");
            sql.Append(columns.Count == 1 ? "" : "(").AppendJoin(", ", values.Select(v => v.Text)).Append(columns.Count == 1 ? "" : ")");
        }
        if (rows == 0)
        {
            sql.Append("NULL");
        }
        sql.Append(") FOR UPDATE");
        return new GeneratedSql(sql.ToString(), [], statement.Parameters.Count > 0);
    }

    /// <inheritdoc />
    public KeyReturningStatement BuildKeyReturning(DmlStatement statement, TableMetadata table)
    {
        if (!statement.IsWrite || statement.Target is null)
        {
            throw new ArgumentException($"A {statement.Kind} statement writes no rows.", nameof(statement));
        }
        var qualifier = QuoteIdentifier(statement.Target.Alias ?? table.Name);
        var sql = new StringBuilder(statement.Text);
        sql.Append(statement.Returning is null ? " RETURNING " : ", ");
        for (var i = 0; i < table.PrimaryKey.Count; i++)
        {
            sql.Append(i == 0 ? "" : ", ").Append(qualifier).Append('.').Append(QuoteIdentifier(table.PrimaryKey[i].Name))
                .Append(" AS ").Append(QuoteIdentifier(KeyColumnAlias(i)));
        }
        return new KeyReturningStatement(sql.ToString(), table.PrimaryKey.Count, statement.Returning is not null);
    }

    /// <summary>The name of the i-th hidden key column a <see cref="KeyReturningStatement"/> adds.</summary>
    public static string KeyColumnAlias(int index) => GeneratedSql.ParameterPrefix + "k" + index;

    /// <inheritdoc />
    public GeneratedSql BuildAfterImage(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> keys) =>
        SelectByKeys(table, keys, forUpdate: false);

    /// <inheritdoc />
    public GeneratedSql BuildDirtyCheck(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> keys) =>
        SelectByKeys(table, keys, forUpdate: true);

    private GeneratedSql SelectByKeys(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> keys, bool forUpdate)
    {
        RequireKey(table);
        var parameters = new ParameterList();
        var sql = new StringBuilder("SELECT ");
        AppendColumns(sql, table, null);
        sql.Append(" FROM ").Append(QuoteTable(table)).Append(" WHERE ");
        var pk = table.PrimaryKey;
        if (pk.Count == 1)
        {
            // One array parameter for any number of rows: one plan, no parameter limit.
            sql.Append(QuoteIdentifier(pk[0].Name)).Append(" = ANY(")
                .Append(parameters.Add(TypedArray(keys, 0), ArrayTypeName(pk[0]))).Append(')');
        }
        else
        {
            sql.Append('(').AppendJoin(", ", pk.Select(c => QuoteIdentifier(c.Name))).Append(") IN (SELECT * FROM unnest(");
            for (var i = 0; i < pk.Count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append(parameters.Add(TypedArray(keys, i), ArrayTypeName(pk[i])));
            }
            sql.Append("))");
        }
        if (forUpdate)
        {
            sql.Append(" FOR UPDATE");
        }
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    /// <inheritdoc />
    public IReadOnlyList<GeneratedSql> BuildUndo(
        DmlKind kind,
        TableMetadata table,
        IReadOnlyList<IReadOnlyList<object?>> beforeRows,
        IReadOnlyList<IReadOnlyList<object?>> afterRows)
    {
        RequireKey(table);
        var statements = new List<GeneratedSql>();
        switch (kind)
        {
            case DmlKind.Insert:
                statements.AddRange(afterRows.Select(row => DeleteByKey(table, row)));
                break;
            case DmlKind.Delete:
                statements.AddRange(beforeRows.Select(row => InsertRow(table, row)));
                break;
            case DmlKind.Update:
            {
                var afterByKey = ByKey(table, afterRows);
                foreach (var before in beforeRows)
                {
                    // Only rows the statement wrote are put back; a before row with no after row was not written.
                    if (afterByKey.TryGetValue(LockKeyFormatter.Format(KeyOf(table, before)), out var after)
                        && UpdateBack(table, before, after) is { } update)
                    {
                        statements.Add(update);
                    }
                }
                break;
            }
            case DmlKind.Upsert:
            {
                var beforeByKey = ByKey(table, beforeRows);
                foreach (var after in afterRows)
                {
                    if (beforeByKey.TryGetValue(LockKeyFormatter.Format(KeyOf(table, after)), out var before))
                    {
                        if (UpdateBack(table, before, after) is { } update)
                        {
                            statements.Add(update);
                        }
                    }
                    else
                    {
                        statements.Add(DeleteByKey(table, after));
                    }
                }
                break;
            }
            default:
                throw new ArgumentException($"A {kind} statement is not undone.", nameof(kind));
        }
        return statements;
    }

    /// <inheritdoc />
    public IReadOnlyList<object?> KeyOf(TableMetadata table, IReadOnlyList<object?> row)
    {
        if (row.Count != table.Columns.Count)
        {
            throw new ArgumentException($"A row of {table.CanonicalName} has {table.Columns.Count} values, not {row.Count}.", nameof(row));
        }
        var key = new object?[table.PrimaryKey.Count];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = row[ColumnIndex(table, table.PrimaryKey[i].Name)];
        }
        return key;
    }

    /// <inheritdoc />
    public IReadOnlyList<RowLockKey> BuildLockKeys(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> rows)
    {
        RequireKey(table);
        return rows.Select(row => new RowLockKey(table.CanonicalName, LockKeyFormatter.Format(KeyOf(table, row)))).ToList();
    }

    /// <summary>
    /// The PostgreSQL type name to bind a column's values with: <c>format_type</c>'s text without
    /// type modifiers (<c>numeric(12,2)</c> binds as <c>numeric</c>), which Npgsql's <c>DataTypeName</c> accepts.
    /// </summary>
    public static string BindTypeName(ColumnMetadata column)
    {
        var type = column.DataType;
        var open = type.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return type;
        }
        var close = type.IndexOf(')', open);
        return (type[..open] + (close < 0 ? "" : type[(close + 1)..])).Replace("  ", " ", StringComparison.Ordinal).Trim();
    }

    private static string ArrayTypeName(ColumnMetadata column) => BindTypeName(column) + "[]";

    private GeneratedSql DeleteByKey(TableMetadata table, IReadOnlyList<object?> row)
    {
        var parameters = new ParameterList();
        var sql = new StringBuilder("DELETE FROM ").Append(QuoteTable(table));
        AppendKeyCondition(sql, table, row, parameters);
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    private GeneratedSql InsertRow(TableMetadata table, IReadOnlyList<object?> row)
    {
        var parameters = new ParameterList();
        var writable = table.Columns.Where(c => !c.IsGenerated).ToList();
        var sql = new StringBuilder("INSERT INTO ").Append(QuoteTable(table)).Append(" (")
            .AppendJoin(", ", writable.Select(c => QuoteIdentifier(c.Name)))
            // Identity columns declared GENERATED ALWAYS accept the old value only with this clause.
            .Append(") OVERRIDING SYSTEM VALUE VALUES (")
            .AppendJoin(", ", writable.Select(c => parameters.Add(row[ColumnIndex(table, c.Name)], BindTypeName(c))))
            .Append(')');
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    // Only the columns that differ from the after image are set back; null when nothing differs.
    private GeneratedSql? UpdateBack(TableMetadata table, IReadOnlyList<object?> before, IReadOnlyList<object?> after)
    {
        var parameters = new ParameterList();
        var sets = new List<string>();
        foreach (var column in table.Columns)
        {
            if (column.IsGenerated || table.PrimaryKey.Any(k => k.Name == column.Name))
            {
                continue;
            }
            var index = ColumnIndex(table, column.Name);
            if (ValuesEqual(before[index], after[index]))
            {
                continue;
            }
            sets.Add(QuoteIdentifier(column.Name) + " = " + parameters.Add(before[index], BindTypeName(column)));
        }
        if (sets.Count == 0)
        {
            return null;
        }
        var sql = new StringBuilder("UPDATE ").Append(QuoteTable(table)).Append(" SET ").AppendJoin(", ", sets);
        AppendKeyCondition(sql, table, before, parameters);
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    private void AppendKeyCondition(StringBuilder sql, TableMetadata table, IReadOnlyList<object?> row, ParameterList parameters)
    {
        sql.Append(" WHERE ");
        for (var i = 0; i < table.PrimaryKey.Count; i++)
        {
            var column = table.PrimaryKey[i];
            sql.Append(i == 0 ? "" : " AND ").Append(QuoteIdentifier(column.Name)).Append(" = ")
                .Append(parameters.Add(row[ColumnIndex(table, column.Name)], BindTypeName(column)));
        }
    }

    private void AppendColumns(StringBuilder sql, TableMetadata table, string? qualifier)
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
            sql.Append(QuoteIdentifier(table.Columns[i].Name));
        }
    }

    private Dictionary<string, IReadOnlyList<object?>> ByKey(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> rows)
    {
        var byKey = new Dictionary<string, IReadOnlyList<object?>>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            byKey[LockKeyFormatter.Format(KeyOf(table, row))] = row;
        }
        return byKey;
    }

    private static bool ValuesEqual(object? a, object? b)
    {
        if (a is DBNull)
        {
            a = null;
        }
        if (b is DBNull)
        {
            b = null;
        }
        return a is IStructuralEquatable && b is IStructuralEquatable
            ? StructuralComparisons.StructuralEqualityComparer.Equals(a, b)
            : Equals(a, b);
    }

    private static int ColumnIndex(TableMetadata table, string name)
    {
        for (var i = 0; i < table.Columns.Count; i++)
        {
            if (string.Equals(table.Columns[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        throw new ArgumentException($"{table.CanonicalName} has no column \"{name}\".", nameof(name));
    }

    // Npgsql binds an array parameter from a typed CLR array, so the key values are copied into one.
    private static Array TypedArray(IReadOnlyList<IReadOnlyList<object?>> keys, int position)
    {
        var elementType = keys.Select(k => k[position]).FirstOrDefault(v => v is not null and not DBNull)?.GetType() ?? typeof(object);
        var array = Array.CreateInstance(elementType, keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            var value = keys[i][position];
            if (value is null or DBNull || value.GetType() != elementType)
            {
                throw new ArgumentException($"Primary-key values must be non-null and of one type; got {value?.GetType().Name ?? "null"} after {elementType.Name}.", nameof(keys));
            }
            array.SetValue(value, i);
        }
        return array;
    }

    private static void RequireKey(TableMetadata table)
    {
        if (table.PrimaryKey.Count == 0)
        {
            throw new ArgumentException($"{table.CanonicalName} has no primary key.", nameof(table));
        }
    }

    private static bool UsesParameters(DmlStatement statement, params SqlExpression?[] spliced) =>
        spliced.Any(part => part is not null && statement.ParametersIn(part.Span).Any());

    // Generated parameters of one statement: @__atp_0, @__atp_1, ...
    private sealed class ParameterList
    {
        public List<GeneratedParameter> Items { get; } = [];

        public string Add(object? value, string dataTypeName)
        {
            var name = GeneratedSql.ParameterPrefix + Items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Items.Add(new GeneratedParameter(name, value is DBNull ? null : value, dataTypeName));
            return "@" + name;
        }
    }
}
