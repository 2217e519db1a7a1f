using System.Globalization;
using System.Text;
using AtProxy.Images;
using AtProxy.Metadata;
using AtProxy.Protocol;
using AtProxy.Protocol.V1;

namespace AtProxy.Sql.Dialects;

/// <summary>
/// PostgreSQL: image, lock, dirty-check and undo SQL. Images select each row as one record text,
/// printed by <see cref="CanonicalText.ImageFunction"/> under pinned settings, so no setting of the
/// application's session changes a value's text; generated values are bound as text parameters
/// named <c>@__atp_N</c> and cast back with <c>CAST(@__atp_N AS &lt;format_type&gt;)</c>, modifiers
/// included and the type schema-qualified, so PostgreSQL itself parses them exactly as it printed
/// them (rollback pins the same settings). Image queries splice the user's own WHERE / FROM / VALUES
/// text unchanged, so the user's parameters bind to them as they are.
/// </summary>
/// <param name="functionSchema">The schema of AtProxy's image function (the undo log's schema), unquoted.</param>
internal sealed class PostgresDialect(string functionSchema) : ISqlDialect
{
    private readonly string _imageFunction = PostgresIdentifier.Quote(functionSchema) + "." + CanonicalText.ImageFunction;

    /// <summary>The hidden column that says whether an upsert inserted the row (rather than updated it).</summary>
    public const string InsertedColumn = GeneratedSql.ParameterPrefix + "inserted";

    /// <inheritdoc />
    public string QuoteIdentifier(string identifier) => PostgresIdentifier.Quote(identifier);

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
                AppendRowImage(sql, qualifier);
                sql.Append(target.Only ? " FROM ONLY " : " FROM ").Append(QuoteTable(table));
                if (target.Alias is not null)
                {
                    sql.Append(" AS ").Append(qualifier);
                }
                if (statement.FromList is { } from)
                {
                    sql.Append(", ").Append(from.Text);
                }
                AppendClause(sql, " WHERE ", statement.Where);
                // With a join the lock must stay on the target's rows, not on the joined tables' rows.
                sql.Append(statement.FromList is null ? " FOR UPDATE" : " FOR UPDATE OF " + qualifier);
                return new GeneratedSql(sql.ToString(), [], UsesParameters(statement, statement.FromList, statement.Where));
            }
            case DmlKind.Upsert:
                return BuildConflictImage(statement, table, constraintColumns);
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

        var qualifier = QuoteIdentifier(table.Name);
        var sql = new StringBuilder("SELECT ");
        AppendRowImage(sql, qualifier);
        sql.Append(" FROM ").Append(QuoteTable(table)).Append(" WHERE ");
        sql.Append(columns.Count == 1 ? "" : "(");
        sql.AppendJoin(", ", columns.Select(c => qualifier + "." + QuoteIdentifier(c)));
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
    public GeneratedSql BuildLockedKeys(DmlStatement statement, TableMetadata table)
    {
        if (statement.Kind != DmlKind.SelectForUpdate || statement.Target is null || statement.FromList is null)
        {
            throw new ArgumentException($"A {statement.Kind} statement is not a locking SELECT.", nameof(statement));
        }
        RequireKey(table);
        var qualifier = QuoteIdentifier(statement.Target.Qualifier);
        var sql = new StringBuilder("SELECT ");
        AppendKeyImage(sql, table, qualifier);
        AppendRowType(sql, qualifier);
        sql.Append(" FROM ").Append(statement.FromList.Text);
        AppendClause(sql, " WHERE ", statement.Where);
        AppendClause(sql, " ORDER BY ", statement.OrderBy);
        AppendClause(sql, " ", statement.Limit);
        foreach (var rowLock in statement.RowLocks)
        {
            sql.Append(' ').Append(statement.TextOf(rowLock.Span));
        }
        return new GeneratedSql(sql.ToString(), [], statement.Parameters.Count > 0);
    }

    /// <inheritdoc />
    public GeneratedSql BuildConstraintColumns(TableMetadata table, string constraint)
    {
        var parameters = new ParameterList();
        var tableName = parameters.Add(QuoteTable(table));
        var constraintName = parameters.Add(constraint);
        var sql = $"""
            SELECT a.attname FROM pg_constraint c
            CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
            WHERE c.conrelid = to_regclass({tableName}) AND c.conname = {constraintName} ORDER BY k.ord
            """;
        return new GeneratedSql(sql, parameters.Items);
    }

    /// <inheritdoc />
    public ImageReturningStatement BuildImageReturning(DmlStatement statement, TableMetadata table)
    {
        if (!statement.IsWrite || statement.Target is null)
        {
            throw new ArgumentException($"A {statement.Kind} statement writes no rows.", nameof(statement));
        }
        RequireKey(table);
        // The target by the name the statement gives it: UPDATE ... FROM and DELETE ... USING may join
        // tables with columns of the same name, and an INSERT's RETURNING knows it by name or alias.
        var qualifier = QuoteIdentifier(statement.Target.Alias ?? table.Name);
        // A DELETE leaves no row behind: its keys are enough. Every other write returns the whole
        // row as it left it, which is the after image.
        var returnsRows = statement.Kind != DmlKind.Delete;
        var extra = new StringBuilder();
        if (returnsRows)
        {
            AppendRowImage(extra, qualifier);
        }
        else
        {
            AppendKeyImage(extra, table, qualifier);
        }
        extra.Append(" AS ").Append(QuoteIdentifier(ImageColumn));
        // The row type of the table the statement resolved its target name to, checked against the metadata's.
        AppendRowType(extra, qualifier);
        var count = returnsRows ? table.Columns.Count : table.PrimaryKey.Count;
        var insertedFlag = statement.OnConflict is { Action: ConflictAction.DoUpdate };
        if (insertedFlag)
        {
            // xmax is 0 for a row this statement inserted, set for one it updated (it holds our lock).
            extra.Append(", (xmax = 0) AS ").Append(QuoteIdentifier(InsertedColumn));
        }
        var text = statement.Text;
        if (statement.Returning is { } returning)
        {
            var at = returning.Span.End - statement.Span.Start;
            text = text[..at] + ", " + extra + text[at..];
        }
        else
        {
            // A newline first, so a trailing line comment cannot swallow the clause.
            text = text.TrimEnd().TrimEnd(';') + "\nRETURNING " + extra;
        }
        return new ImageReturningStatement(text, count, returnsRows, insertedFlag, statement.Returning is not null);
    }

    /// <summary>The hidden column an <see cref="ImageReturningStatement"/> adds: the row's (or a DELETE's key's) record text.</summary>
    public const string ImageColumn = GeneratedSql.ParameterPrefix + "image";

    /// <summary>The hidden column after <see cref="ImageColumn"/>: the oid of the written table's row type.</summary>
    public const string RowTypeColumn = GeneratedSql.ParameterPrefix + "rowtype";

    /// <inheritdoc />
    public GeneratedSql BuildDirtyCheck(TableMetadata table, IReadOnlyList<IReadOnlyList<string>> keys, ImageForm form = ImageForm.Canonical) =>
        SelectByKeys(table, keys, form, forUpdate: true);

    /// <inheritdoc />
    public GeneratedSql BuildCurrentRows(TableMetadata table, IReadOnlyList<IReadOnlyList<string>> keys, ImageForm form = ImageForm.Canonical) =>
        SelectByKeys(table, keys, form, forUpdate: false);

    // One text array per key column: one plan and no parameter limit for any number of rows. A
    // single scalar key compares with = ANY, which the planner answers from the key's index; a
    // composite (or array-typed) key unnests the arrays together, each element cast on its own so
    // array-typed keys stay whole.
    private GeneratedSql SelectByKeys(TableMetadata table, IReadOnlyList<IReadOnlyList<string>> keys, ImageForm form, bool forUpdate)
    {
        RequireKey(table);
        var parameters = new ParameterList();
        var pk = table.PrimaryKey;
        var sql = new StringBuilder("SELECT ");
        if (form == ImageForm.Canonical)
        {
            AppendImage(sql, table.Columns, QuoteIdentifier(table.Name));
        }
        else
        {
            AppendTextColumns(sql, table);
        }
        sql.Append(" FROM ").Append(QuoteTable(table)).Append(" WHERE ");
        if (pk.Count == 1 && !pk[0].DataType.EndsWith("[]", StringComparison.Ordinal))
        {
            sql.Append(QuoteIdentifier(pk[0].Name)).Append(" = ANY (CAST(")
                .Append(parameters.Add(keys.Select(key => key[0]).ToArray())).Append(" AS ").Append(pk[0].DataType).Append("[]))");
        }
        else
        {
            sql.Append('(').AppendJoin(", ", pk.Select(c => QuoteIdentifier(c.Name))).Append(") IN (SELECT ");
            sql.AppendJoin(", ", pk.Select((c, i) => "CAST(k.k" + i.ToString(CultureInfo.InvariantCulture) + " AS " + c.DataType + ")"));
            sql.Append(" FROM unnest(");
            sql.AppendJoin(", ", pk.Select((_, i) => parameters.Add(keys.Select(key => key[i]).ToArray())));
            sql.Append(") AS k(").AppendJoin(", ", pk.Select((_, i) => "k" + i.ToString(CultureInfo.InvariantCulture))).Append("))");
        }
        if (forUpdate)
        {
            sql.Append(" FOR UPDATE");
        }
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    /// <inheritdoc />
    public GeneratedSql BuildDeleteRow(TableMetadata table, UndoRow row)
    {
        RequireKey(table);
        var parameters = new ParameterList();
        var sql = new StringBuilder("DELETE FROM ").Append(QuoteTable(table));
        AppendKeyCondition(sql, table, row, parameters);
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    /// <inheritdoc />
    public GeneratedSql BuildInsertRow(TableMetadata table, UndoRow row)
    {
        var parameters = new ParameterList();
        // A generated column is computed by the server and can never be written.
        var writable = Enumerable.Range(0, table.Columns.Count).Where(i => !table.Columns[i].IsGenerated).ToArray();
        var sql = new StringBuilder("INSERT INTO ").Append(QuoteTable(table)).Append(" (")
            .AppendJoin(", ", writable.Select(i => QuoteIdentifier(table.Columns[i].Name))).Append(')');
        if (writable.Any(i => table.Columns[i].IsIdentityAlways))
        {
            // Identity columns declared GENERATED ALWAYS accept the old value only with this clause.
            sql.Append(" OVERRIDING SYSTEM VALUE");
        }
        sql.Append(" VALUES (").AppendJoin(", ", writable.Select(i => Cast(parameters, row.Values[i], table.Columns[i]))).Append(')');
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    /// <inheritdoc />
    public GeneratedSql? BuildUpdateRow(TableMetadata table, UndoRow before)
    {
        RequireKey(table);
        var parameters = new ParameterList();
        var keyIndexes = table.PrimaryKeyIndexes;
        var sets = Enumerable.Range(0, table.Columns.Count)
            // An identity column GENERATED ALWAYS can only be updated to DEFAULT: no statement changed it but that way.
            .Where(i => !table.Columns[i].IsGenerated && !table.Columns[i].IsIdentityAlways && !keyIndexes.Contains(i))
            .Select(i => QuoteIdentifier(table.Columns[i].Name) + " = " + Cast(parameters, before.Values[i], table.Columns[i]))
            .ToList();
        if (sets.Count == 0)
        {
            return null;
        }
        var sql = new StringBuilder("UPDATE ").Append(QuoteTable(table)).Append(" SET ").AppendJoin(", ", sets);
        AppendKeyCondition(sql, table, before, parameters);
        return new GeneratedSql(sql.ToString(), parameters.Items);
    }

    /// <inheritdoc />
    public GeneratedSql BuildTriggerList(TableMetadata table)
    {
        var parameters = new ParameterList();
        var name = parameters.Add(QuoteTable(table));
        // tgtype bits: 2 BEFORE, 64 INSTEAD OF (else AFTER), 4 INSERT, 8 DELETE, 16 UPDATE.
        var sql = $"""
            SELECT format('%I (%s %s%s)', t.tgname,
                   CASE WHEN t.tgtype & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END,
                   concat_ws(' OR ', CASE WHEN t.tgtype & 4 <> 0 THEN 'INSERT' END, CASE WHEN t.tgtype & 16 <> 0 THEN 'UPDATE' END,
                             CASE WHEN t.tgtype & 8 <> 0 THEN 'DELETE' END),
                   CASE t.tgenabled WHEN 'A' THEN ', enabled ALWAYS' WHEN 'R' THEN ', enabled REPLICA' ELSE '' END)
            FROM pg_trigger t
            WHERE t.tgrelid = to_regclass({name}) AND NOT t.tgisinternal AND t.tgenabled <> 'D'
            ORDER BY t.tgname
            """;
        return new GeneratedSql(sql, parameters.Items);
    }

    /// <inheritdoc />
    public GeneratedSql BuildForeignKeyColumns(TableMetadata table)
    {
        var parameters = new ParameterList();
        var name = parameters.Add(QuoteTable(table));
        var sql = $"""
            SELECT a.attname::text FROM pg_constraint c
            JOIN pg_attribute a ON (c.conrelid = to_regclass({name}) AND a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey))
                                OR (c.confrelid = to_regclass({name}) AND a.attrelid = c.confrelid AND a.attnum = ANY (c.confkey))
            WHERE c.contype = 'f'
            """;
        return new GeneratedSql(sql, parameters.Items);
    }

    /// <inheritdoc />
    public string SuppressUserTriggersSql => "SET LOCAL session_replication_role = replica";

    /// <inheritdoc />
    public string RestoreUserTriggersSql => "SET LOCAL session_replication_role TO DEFAULT";

    /// <inheritdoc />
    public IReadOnlyList<string> KeyOf(TableMetadata table, UndoRow row)
    {
        if (row.Values.Count != table.Columns.Count)
        {
            throw new ArgumentException($"A row of {table.CanonicalName} has {table.Columns.Count} values, not {row.Values.Count}.", nameof(row));
        }
        var keyIndexes = table.PrimaryKeyIndexes;
        var key = new string[keyIndexes.Count];
        for (var i = 0; i < key.Length; i++)
        {
            var value = row.Values[keyIndexes[i]];
            key[i] = value.ValueCase == UndoValue.ValueOneofCase.Text
                ? value.Text
                : throw new ArgumentException($"A row of {table.CanonicalName} has no value for primary-key column \"{table.PrimaryKey[i].Name}\".", nameof(row));
        }
        return key;
    }

    /// <inheritdoc />
    public RowLockKey LockKeyOf(TableMetadata table, IReadOnlyList<string> key) =>
        new(table.CanonicalName, LockKeyFormatter.Format(key));

    /// <inheritdoc />
    public IReadOnlyList<RowLockKey> BuildLockKeys(TableMetadata table, IEnumerable<UndoRow> rows)
    {
        RequireKey(table);
        return rows.Select(row => LockKeyOf(table, KeyOf(table, row))).Distinct().ToList();
    }

    private void AppendKeyCondition(StringBuilder sql, TableMetadata table, UndoRow row, ParameterList parameters)
    {
        sql.Append(" WHERE ");
        var keyIndexes = table.PrimaryKeyIndexes;
        for (var i = 0; i < keyIndexes.Count; i++)
        {
            var column = table.Columns[keyIndexes[i]];
            sql.Append(i == 0 ? "" : " AND ").Append(QuoteIdentifier(column.Name)).Append(" = ")
                .Append(Cast(parameters, row.Values[keyIndexes[i]], column));
        }
    }

    // A clause of the user's statement, spliced exactly as written.
    private static void AppendClause(StringBuilder sql, string keyword, SqlExpression? clause)
    {
        if (clause is not null)
        {
            sql.Append(keyword).Append(clause.Text);
        }
    }

    // The whole row as the table has it now, as one record text in canonical form: when the metadata is
    // older than the table (a column added), the record's width shows it and the statement fails loudly.
    private void AppendRowImage(StringBuilder sql, string qualifier) =>
        sql.Append(_imageFunction).Append('(').Append(qualifier).Append(".*)");

    // The row's primary key, as one record text in canonical form (a record of one field for a single key).
    private void AppendKeyImage(StringBuilder sql, TableMetadata table, string qualifier) =>
        AppendImage(sql, table.PrimaryKey, qualifier);

    // Named columns, as the undo record lists them: a rollback compares rows of the shape it imaged,
    // whatever columns were added since.
    private void AppendImage(StringBuilder sql, IReadOnlyList<ColumnMetadata> columns, string qualifier)
    {
        sql.Append(_imageFunction).Append("(ROW(");
        sql.AppendJoin(", ", columns.Select(c => qualifier + "." + QuoteIdentifier(c.Name)));
        sql.Append("))");
    }

    // The row type of the table the statement resolved the name qualifier stands for, as a bigint column.
    private static void AppendRowType(StringBuilder sql, string qualifier) =>
        sql.Append(", pg_typeof(").Append(qualifier).Append(".*)::oid::bigint AS ").Append(PostgresIdentifier.Quote(RowTypeColumn));

    // Format version 1: each column's text in the session's own settings.
    private void AppendTextColumns(StringBuilder sql, TableMetadata table) =>
        sql.AppendJoin(", ", table.Columns.Select(c => QuoteIdentifier(c.Name) + "::text"));

    // The value's text, cast by the server to the column's full type (modifiers included).
    private static string Cast(ParameterList parameters, UndoValue value, ColumnMetadata column) =>
        "CAST(" + parameters.Add(value.ValueCase == UndoValue.ValueOneofCase.Text ? value.Text : null) + " AS " + column.DataType + ")";

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

        public string Add(object? value)
        {
            var name = GeneratedSql.ParameterPrefix + Items.Count.ToString(CultureInfo.InvariantCulture);
            Items.Add(new GeneratedParameter(name, value));
            return "@" + name;
        }
    }
}
