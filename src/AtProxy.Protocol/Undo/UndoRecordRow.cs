using AtProxy.Protocol.V1;

namespace AtProxy.Protocol.Undo;

/// <summary>
/// One row of an undo record: its before and after images paired by primary key (either may be
/// missing: an inserted row has no before image, a deleted row no after image), and the row as an
/// operator sees it next to its current values (<see cref="ToImage"/>). The resource manager's undo
/// images and the CLI's are built here, with <see cref="UndoValueComparison"/>'s comparison.
/// </summary>
public sealed class UndoRecordRow
{
    private readonly bool[] _changed;

    private UndoRecordRow(UndoRecord record, UndoRow? before, UndoRow? after, IReadOnlyList<int> keyColumns)
    {
        Record = record;
        Before = before;
        After = after;
        KeyColumns = keyColumns;
        _changed = new bool[record.Columns.Count];
        if (before is not null && after is not null)
        {
            for (var i = 0; i < _changed.Length; i++)
            {
                _changed[i] = !UndoValueComparison.Same(UndoValueComparison.ValueAt(before, i), UndoValueComparison.ValueAt(after, i));
            }
        }
    }

    /// <summary>The statement's undo record the row belongs to.</summary>
    public UndoRecord Record { get; }

    /// <summary>The row before the statement; null when the statement inserted it.</summary>
    public UndoRow? Before { get; }

    /// <summary>The row as the statement left it; null when the statement deleted it.</summary>
    public UndoRow? After { get; }

    /// <summary>The indexes of the primary-key columns in the record's columns; empty when the record names no key.</summary>
    public IReadOnlyList<int> KeyColumns { get; }

    /// <summary>Per column: whether the statement changed it (before and after differ; false unless both exist).</summary>
    public IReadOnlyList<bool> Changed => _changed;

    /// <summary>The primary key's values as text, in key column order.</summary>
    public IReadOnlyList<string?> KeyValues => [.. KeyColumns.Select(i => UndoValueComparison.TextOf(UndoValueComparison.ValueAt(Before ?? After, i)))];

    /// <summary>"insert", "update" or "delete": what the statement did to the row.</summary>
    public string Operation => After is null ? "delete" : Before is null ? "insert" : "update";

    /// <summary>The record's table, schema-qualified (unquoted catalog names).</summary>
    public string Table => $"{Record.Schema}.{Record.Table}";

    /// <summary>
    /// Whether column <paramref name="column"/> of the row as the table holds it now
    /// (<paramref name="current"/>, null when no row has the key) differs from the after image:
    /// a write after phase 1, which rollback's dirty-write check refuses to overwrite.
    /// </summary>
    public bool IsDirty(int column, UndoRow? current) =>
        current is not null && After is not null &&
        !UndoValueComparison.Same(UndoValueComparison.ValueAt(current, column), UndoValueComparison.ValueAt(After, column));

    /// <summary>
    /// The row with its before, after and current values per column. <paramref name="current"/> is the
    /// row as the table holds it now (null when no row has the key). When a later statement of the same
    /// branch wrote the row again (<paramref name="writtenAgainLater"/>), the current values are that
    /// statement's to compare: rollback undoes it first, so nothing is marked dirty here.
    /// </summary>
    public UndoRowImage ToImage(UndoRow? current, bool writtenAgainLater = false)
    {
        var image = new UndoRowImage { Table = Table, Operation = Operation, ExistsNow = current is not null };
        image.PrimaryKey.Add(KeyValues.Select(v => v ?? ""));
        var dirty = false;
        for (var i = 0; i < Record.Columns.Count; i++)
        {
            var cell = new UndoCell
            {
                Column = Record.Columns[i].Name,
                PrimaryKey = KeyColumns.Contains(i),
                Before = Copy(Before, i),
                After = Copy(After, i),
                Current = Copy(current, i),
                Changed = _changed[i],
                Dirty = !writtenAgainLater && IsDirty(i, current),
            };
            dirty |= cell.Dirty;
            image.Cells.Add(cell);
        }
        image.Dirty = !writtenAgainLater && (dirty || image.ExistsNow != (After is not null));
        return image;
    }

    /// <summary>The record's rows, before and after paired by primary key (by position when the record names no key).</summary>
    public static IReadOnlyList<UndoRecordRow> Of(UndoRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var columns = record.Columns;
        var keyColumns = record.PrimaryKey.Select(name => IndexOf(columns, name)).Where(i => i >= 0).ToArray();
        var rows = new List<UndoRecordRow>();
        if (keyColumns.Length == 0)
        {
            for (var i = 0; i < Math.Max(record.Before.Count, record.After.Count); i++)
            {
                rows.Add(new UndoRecordRow(record, i < record.Before.Count ? record.Before[i] : null, i < record.After.Count ? record.After[i] : null, []));
            }
            return rows;
        }

        var afterByKey = new Dictionary<string, UndoRow>(StringComparer.Ordinal);
        foreach (var after in record.After)
        {
            afterByKey.TryAdd(KeyText(after, keyColumns), after);
        }
        foreach (var before in record.Before)
        {
            afterByKey.Remove(KeyText(before, keyColumns), out var after);
            rows.Add(new UndoRecordRow(record, before, after, keyColumns));
        }
        // After rows without a before row: inserted (INSERT, or UPSERT rows that were inserted).
        foreach (var after in record.After)
        {
            if (afterByKey.Remove(KeyText(after, keyColumns)))
            {
                rows.Add(new UndoRecordRow(record, null, after, keyColumns));
            }
        }
        return rows;
    }

    /// <summary>A text that identifies a row's key within its table: the key values, length-prefixed so no two keys meet.</summary>
    public static string KeyText(UndoRow row, IReadOnlyList<int> keyColumns)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(keyColumns);
        return string.Concat(keyColumns.Select(i => UndoValueComparison.TextOf(UndoValueComparison.ValueAt(row, i)) is { } text ? $"{text.Length}:{text}" : "-"));
    }

    private static UndoValue? Copy(UndoRow? row, int column) =>
        row is null ? null : UndoValueComparison.ValueAt(row, column)?.Clone() ?? new UndoValue { IsNull = true };

    private static int IndexOf(IList<UndoColumn> columns, string name)
    {
        for (var i = 0; i < columns.Count; i++)
        {
            if (columns[i].Name == name)
            {
                return i;
            }
        }
        return -1;
    }
}
