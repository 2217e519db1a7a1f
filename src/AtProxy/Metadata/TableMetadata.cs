namespace AtProxy.Metadata;

/// <summary>
/// A table as the database's catalog describes it: what the proxy needs to capture images,
/// build lock keys and write reverse SQL.
/// </summary>
/// <param name="Schema">The schema, exactly as stored in the catalog (case preserved, unquoted).</param>
/// <param name="Name">The table name, exactly as stored in the catalog (case preserved, unquoted).</param>
/// <param name="Columns">Every column in ordinal order.</param>
/// <param name="PrimaryKey">The primary-key columns in key order; empty when the table has none.</param>
/// <param name="IsView">True for views and other relations that are not plain tables.</param>
/// <param name="RewrittenAfterWrite">
/// True when an AFTER trigger on INSERT or UPDATE may write a row again after the statement returned
/// it: the after image is then read back once the statement has run.
/// </param>
/// <param name="RowType">
/// The oid of the table's row type; a statement whose rows come back with another one resolved the
/// name to another table (another search path). Zero when unknown: not checked.
/// </param>
internal sealed record TableMetadata(
    string Schema,
    string Name,
    IReadOnlyList<ColumnMetadata> Columns,
    IReadOnlyList<ColumnMetadata> PrimaryKey,
    bool IsView = false,
    bool RewrittenAfterWrite = false,
    long RowType = 0)
{
    private int[]? _primaryKeyIndexes;

    /// <summary>
    /// The table's BEFORE INSERT or UPDATE row triggers: they fire again on a rollback's restores, which
    /// then need the role to suppress them (see <c>TriggeredRestoreRepair</c>).
    /// </summary>
    public IReadOnlyList<string> BeforeWriteTriggers { get; init; } = [];

    /// <summary>The positions of the primary-key columns within <see cref="Columns"/>, in key order.</summary>
    public IReadOnlyList<int> PrimaryKeyIndexes => _primaryKeyIndexes ??= PrimaryKey
        .Select(key => Columns.Select((column, index) => (column, index)).First(c => c.column.Name == key.Name).index)
        .ToArray();

    /// <summary>"schema.name" as catalog strings; the table part of a lock key.</summary>
    public string CanonicalName => $"{Schema}.{Name}";

    /// <summary>The column with this catalog name, or null.</summary>
    public ColumnMetadata? FindColumn(string name)
    {
        foreach (var column in Columns)
        {
            if (string.Equals(column.Name, name, StringComparison.Ordinal))
            {
                return column;
            }
        }
        return null;
    }
}

/// <summary>One column of a table.</summary>
/// <param name="Name">The column name as stored in the catalog (case preserved, unquoted).</param>
/// <param name="Ordinal">1-based position in the table.</param>
/// <param name="DataType">The PostgreSQL type as <c>format_type</c> prints it, e.g. <c>integer</c>, <c>numeric(12,2)</c>, <c>text[]</c>.</param>
/// <param name="IsNullable">Whether NULL is allowed.</param>
/// <param name="HasDefault">Whether the column has a default, identity or generated value the server fills in.</param>
/// <param name="IsGenerated">A stored generated column: it can never be written, so reverse SQL leaves it out.</param>
/// <param name="IsIdentityAlways">An identity column <c>GENERATED ALWAYS</c>: reverse SQL writes it with <c>OVERRIDING SYSTEM VALUE</c>.</param>
internal sealed record ColumnMetadata(
    string Name,
    int Ordinal,
    string DataType,
    bool IsNullable,
    bool HasDefault,
    bool IsGenerated = false,
    bool IsIdentityAlways = false);
