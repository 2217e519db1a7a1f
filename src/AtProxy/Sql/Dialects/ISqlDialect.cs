using AtProxy.Images;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;

namespace AtProxy.Sql.Dialects;

/// <summary>
/// Everything that differs between databases when the proxy reads images, takes locks and
/// undoes a statement. Images hold each value's exact text form, printed the same way whatever the
/// application's session settings, so every type round-trips through the undo log unchanged: image
/// queries select each row as one record text, and generated values are bound as text and cast to
/// the column's full type. Rows are <see cref="UndoRow"/>s
/// in <see cref="TableMetadata.Columns"/> order; keys are text values in
/// <see cref="TableMetadata.PrimaryKey"/> order.
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
    /// the statement's own WHERE text (and FROM/USING list), <c>FOR UPDATE</c> (of the target only
    /// when it joins). For an upsert with <c>DO UPDATE</c>, the rows its VALUES collide with
    /// (<paramref name="constraintColumns"/> names the columns of <c>ON CONFLICT ON CONSTRAINT</c>).
    /// Null when nothing existing is changed (INSERT, <c>DO NOTHING</c>).
    /// <see cref="GeneratedSql.BindsUserParameters"/> says whether the user's parameters must be bound to it.
    /// </summary>
    GeneratedSql? BuildBeforeImage(DmlStatement statement, TableMetadata table, IReadOnlyList<string>? constraintColumns = null);

    /// <summary>
    /// The keys of the rows a locking SELECT locks in its target, locking them the same way (its own
    /// FROM, WHERE, ORDER BY, LIMIT and lock clauses), so they can be checked against global locks;
    /// each key with the row type of the table it came from.
    /// </summary>
    GeneratedSql BuildLockedKeys(DmlStatement statement, TableMetadata table);

    /// <summary>The columns of a named constraint, in key order (for <c>ON CONFLICT ON CONSTRAINT</c>).</summary>
    GeneratedSql BuildConstraintColumns(TableMetadata table, string constraint);

    /// <summary>
    /// The statement rewritten to return what the undo log needs of each row it writes: the whole
    /// row as text (the after image) for an INSERT, UPDATE or upsert, the primary key for a DELETE;
    /// for an upsert that may update, also whether each row was inserted.
    /// </summary>
    ImageReturningStatement BuildImageReturning(DmlStatement statement, TableMetadata table);

    /// <summary>
    /// Rollback's dirty-write check: the rows with these keys, <c>FOR UPDATE</c>, printed in
    /// <paramref name="form"/> (one record column, or one text column per column for format version 1).
    /// </summary>
    GeneratedSql BuildDirtyCheck(TableMetadata table, IReadOnlyList<IReadOnlyList<string>> keys, ImageForm form = ImageForm.Canonical);

    /// <summary>
    /// The rows with these keys as the dirty-write check reads them, without locking them: what an
    /// operator is shown next to a branch's undo images.
    /// </summary>
    GeneratedSql BuildCurrentRows(TableMetadata table, IReadOnlyList<IReadOnlyList<string>> keys, ImageForm form = ImageForm.Canonical);

    /// <summary>Undo of an insert: delete the row by its key.</summary>
    GeneratedSql BuildDeleteRow(TableMetadata table, UndoRow row);

    /// <summary>Undo of a delete: insert the row again with all its writable columns.</summary>
    GeneratedSql BuildInsertRow(TableMetadata table, UndoRow row);

    /// <summary>Undo of an update: set every writable non-key column back to <paramref name="before"/>'s values; null when there is none.</summary>
    GeneratedSql? BuildUpdateRow(TableMetadata table, UndoRow before);

    /// <summary>The user triggers enabled on the table, one description each (name, timing, events), for messages.</summary>
    GeneratedSql BuildTriggerList(TableMetadata table);

    /// <summary>The names of the table's columns a foreign key involves, referencing or referenced.</summary>
    GeneratedSql BuildForeignKeyColumns(TableMetadata table);

    /// <summary>Suppresses user triggers for the rest of the local transaction (may be refused for lack of privilege).</summary>
    string SuppressUserTriggersSql { get; }

    /// <summary>Lets user triggers fire again.</summary>
    string RestoreUserTriggersSql { get; }

    /// <summary>The primary key of a full row, as text in key order.</summary>
    IReadOnlyList<string> KeyOf(TableMetadata table, UndoRow row);

    /// <summary>The global lock key of one row, from its key (text values in key order).</summary>
    RowLockKey LockKeyOf(TableMetadata table, IReadOnlyList<string> key);

    /// <summary>The global lock key of each distinct row (full rows, in column order).</summary>
    IReadOnlyList<RowLockKey> BuildLockKeys(TableMetadata table, IEnumerable<UndoRow> rows);
}
