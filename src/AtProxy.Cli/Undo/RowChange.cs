using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>
/// One row of an undo record (<see cref="UndoRecordRow"/>: before and after paired, which columns the
/// statement changed) with the row as its table holds it now, when it was read.
/// </summary>
internal sealed record RowChange(UndoRecordRow Row)
{
    public IReadOnlyList<UndoColumn> Columns => Row.Record.Columns;

    /// <summary>The row before the statement; null when it inserted the row.</summary>
    public UndoRow? Before => Row.Before;

    /// <summary>The row as the statement left it; null when it deleted the row.</summary>
    public UndoRow? After => Row.After;

    /// <summary>Per column: whether the statement changed it.</summary>
    public IReadOnlyList<bool> Changed => Row.Changed;

    /// <summary>The row's primary key as "col=value" pairs, for headings.</summary>
    public required string KeyText { get; init; }

    /// <summary>The indexes of the primary-key columns in <see cref="Columns"/>; empty when the record names no key.</summary>
    public IReadOnlyList<int> KeyColumns => Row.KeyColumns;

    /// <summary>The row as the table holds it now, when it was read (see <see cref="CurrentRowReader"/>).</summary>
    public CurrentRow? Current { get; init; }

    /// <summary>The row's before, after and current values with changed and dirty marked, as the resource manager reports them.</summary>
    public UndoRowImage Image => Row.ToImage(Current?.Row);

    /// <summary>
    /// Whether column <paramref name="column"/> now differs from what phase 1 left (the after image):
    /// the dirty write that stops a rollback, by rollback's own comparison.
    /// </summary>
    public bool IsDirty(int column) => Current is { Row: { } now } && Row.IsDirty(column, now);

    /// <summary>How the row's global transaction ended, when the coordinator was asked; the advice depends on it.</summary>
    public TransactionOutcome? Outcome { get; init; }

    /// <summary>What a rollback would find in this row, in words, or null when the row was not read.</summary>
    public string? CurrentState => Current switch
    {
        null => null,
        { Error: { } } => "unknown",
        _ => RowState.Describe(Image, Outcome),
    };

    /// <summary>Pairs before and after rows by primary key (by position when the record names no key).</summary>
    public static List<RowChange> Of(UndoRecord record) =>
        [.. UndoRecordRow.Of(record).Select((row, i) => new RowChange(row)
        {
            KeyText = row.KeyColumns.Count == 0
                ? $"row {i + 1}"
                : string.Join(", ", row.KeyColumns.Select((column, k) => $"{record.Columns[column].Name}={Display(row.KeyValues[k])}")),
        })];

    /// <summary>The column's value in a row as PostgreSQL's text form; null for SQL NULL.</summary>
    public static string? Value(UndoRow? row, int column) => UndoValueComparison.TextOf(UndoValueComparison.ValueAt(row, column));

    public static string Display(string? value) => value ?? "NULL";
}
