using AtProxy.Metadata;

namespace AtProxy.Sql.Dialects;

/// <summary>
/// Everything that differs between databases when the proxy reads images, takes locks and
/// undoes a statement. Rows are lists of values in <see cref="TableMetadata.Columns"/> order;
/// keys are lists of values in <see cref="TableMetadata.PrimaryKey"/> order.
/// </summary>
internal interface ISqlDialect
{
    /// <summary>Quotes an identifier (catalog spelling) so it is taken exactly.</summary>
    string QuoteIdentifier(string identifier);

    /// <summary>The table's quoted, schema-qualified name.</summary>
    string QuoteTable(TableMetadata table);

    /// <summary>
    /// Raises <see cref="AtProxyNotSupportedException"/> when the statement cannot run in a global
    /// transaction on this table: a view, a table without a primary key, a primary-key column in a SET
    /// list, or a construct the recognizer already refused.
    /// </summary>
    void EnsureSupported(DmlStatement statement, TableMetadata table);

    /// <summary>
    /// The rows the statement will change, read and locked before it runs: all columns of the target,
    /// the statement's own WHERE text (and FROM/USING list), <c>FOR UPDATE</c>. For an upsert with
    /// <c>DO UPDATE</c>, the rows its VALUES collide with (<paramref name="constraintColumns"/> names the
    /// columns of <c>ON CONFLICT ON CONSTRAINT</c>). For a locking SELECT, the rows it locks in its
    /// target, with its own FROM, WHERE, ORDER BY, LIMIT and lock clauses. Null when nothing existing
    /// is changed (INSERT, <c>DO NOTHING</c>). <see cref="GeneratedSql.BindsUserParameters"/> says whether
    /// the user's parameters must be bound to it.
    /// </summary>
    GeneratedSql? BuildBeforeImage(DmlStatement statement, TableMetadata table, IReadOnlyList<string>? constraintColumns = null);

    /// <summary>
    /// The statement rewritten to return the primary keys of the rows it wrote, so the after image
    /// can be read by key (an INSERT with server-generated keys, an upsert).
    /// </summary>
    KeyReturningStatement BuildKeyReturning(DmlStatement statement, TableMetadata table);

    /// <summary>The after image: the rows with these keys, all columns, no lock (the statement's own locks hold them).</summary>
    GeneratedSql BuildAfterImage(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> keys);

    /// <summary>Rollback's dirty-write check: the rows with these keys, all columns, <c>FOR UPDATE</c>.</summary>
    GeneratedSql BuildDirtyCheck(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> keys);

    /// <summary>
    /// The statements that undo <paramref name="kind"/> on these rows, in the order to run them.
    /// Insert: DELETE of each after row; delete: INSERT of each before row; update: UPDATE of each
    /// row back to its before values; upsert: per row whichever of the two applies.
    /// </summary>
    IReadOnlyList<GeneratedSql> BuildUndo(
        DmlKind kind,
        TableMetadata table,
        IReadOnlyList<IReadOnlyList<object?>> beforeRows,
        IReadOnlyList<IReadOnlyList<object?>> afterRows);

    /// <summary>The primary key of a full row, in key order.</summary>
    IReadOnlyList<object?> KeyOf(TableMetadata table, IReadOnlyList<object?> row);

    /// <summary>The global lock key of each row (full rows, in column order).</summary>
    IReadOnlyList<RowLockKey> BuildLockKeys(TableMetadata table, IReadOnlyList<IReadOnlyList<object?>> rows);
}
