using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>
/// One row of an undo record: its before and after images side by side (either may be missing:
/// an inserted row has no before, a deleted row no after) and which columns the statement changed.
/// </summary>
internal sealed record RowChange(IReadOnlyList<UndoColumn> Columns, UndoRow? Before, UndoRow? After, IReadOnlyList<bool> Changed)
{
    /// <summary>The row's primary key as "col=value" pairs, for headings.</summary>
    public required string KeyText { get; init; }

    /// <summary>The indexes of the primary-key columns in <see cref="Columns"/>; empty when the record names no key.</summary>
    public required IReadOnlyList<int> KeyColumns { get; init; }

    /// <summary>The row as the table holds it now, when it was read (see <see cref="CurrentRowReader"/>).</summary>
    public CurrentRow? Current { get; init; }

    /// <summary>
    /// Whether column <paramref name="column"/> now differs from what phase 1 left (the after image):
    /// the dirty write that stops a rollback. Generated columns follow the others and are not counted.
    /// </summary>
    public bool IsDirty(int column) =>
        Current is { Values: { } now } && After is not null && !Columns[column].Generated &&
        !string.Equals(now[column], Value(After, column), StringComparison.Ordinal);

    /// <summary>How the row's global transaction ended, when the coordinator was asked; the advice depends on it.</summary>
    public TransactionOutcome? Outcome { get; init; }

    /// <summary>What a rollback would find in this row, in words, or null when the row was not read.</summary>
    public string? CurrentState => Current switch
    {
        null => null,
        { Error: { } } => "unknown",
        { Values: null } => After is null ? "still deleted" : "missing: the row was deleted outside the transaction",
        { Values: { } } when After is null => "present: the deleted row was inserted again outside the transaction",
        { Values: { } } when Columns.Select((_, i) => i).All(i => !IsDirty(i)) => Outcome is { } outcome
            ? outcome.MatchesAfter(inserted: Before is null)
            : Before is null ? "matches after: rollback can delete it" : "matches after: rollback can restore it",
        { Values: { } now } when Before is not null && Columns.Select((_, i) => i).All(i => Columns[i].Generated || string.Equals(now[i], Value(Before, i), StringComparison.Ordinal)) =>
            "matches before: already restored",
        _ => "dirty: changed outside the transaction after phase 1",
    };

    /// <summary>Pairs before and after rows by primary key (by position when the record names no key).</summary>
    public static List<RowChange> Of(UndoRecord record)
    {
        var columns = record.Columns.ToList();
        var keyIndexes = record.PrimaryKey.Select(name => columns.FindIndex(c => c.Name == name)).Where(i => i >= 0).ToArray();
        var changes = new List<RowChange>();
        if (keyIndexes.Length == 0)
        {
            for (var i = 0; i < Math.Max(record.Before.Count, record.After.Count); i++)
            {
                changes.Add(Pair(columns, [], i < record.Before.Count ? record.Before[i] : null, i < record.After.Count ? record.After[i] : null, $"row {i + 1}"));
            }
            return changes;
        }

        string Key(UndoRow row) => string.Join(", ", keyIndexes.Select(i => $"{columns[i].Name}={Display(Value(row, i))}"));
        var afterByKey = new Dictionary<string, UndoRow>(StringComparer.Ordinal);
        foreach (var after in record.After)
        {
            afterByKey.TryAdd(Key(after), after);
        }
        foreach (var before in record.Before)
        {
            var key = Key(before);
            afterByKey.Remove(key, out var after);
            changes.Add(Pair(columns, keyIndexes, before, after, key));
        }
        // After rows without a before row: inserted (INSERT, or UPSERT rows that were inserted).
        foreach (var after in record.After)
        {
            var key = Key(after);
            if (afterByKey.Remove(key))
            {
                changes.Add(Pair(columns, keyIndexes, null, after, key));
            }
        }
        return changes;
    }

    /// <summary>The column's value in a row as PostgreSQL's text form; null for SQL NULL.</summary>
    public static string? Value(UndoRow? row, int column) =>
        row is null || column >= row.Values.Count ? null : row.Values[column] switch
        {
            { ValueCase: UndoValue.ValueOneofCase.Text } value => value.Text,
            _ => null,
        };

    public static string Display(string? value) => value ?? "NULL";

    private static RowChange Pair(List<UndoColumn> columns, int[] keyColumns, UndoRow? before, UndoRow? after, string key)
    {
        var changed = new bool[columns.Count];
        if (before is not null && after is not null)
        {
            for (var i = 0; i < columns.Count; i++)
            {
                changed[i] = !string.Equals(Value(before, i), Value(after, i), StringComparison.Ordinal) || IsNull(before, i) != IsNull(after, i);
            }
        }
        return new RowChange(columns, before, after, changed) { KeyText = key, KeyColumns = keyColumns };
    }

    private static bool IsNull(UndoRow row, int column) =>
        column >= row.Values.Count || row.Values[column].ValueCase != UndoValue.ValueOneofCase.Text;
}
