using AtProxy.Protocol.V1;

namespace AtProxy.Protocol.Undo;

/// <summary>
/// The one comparison of undo values. Rollback's dirty-write check, the undo images a resource manager
/// reports and the CLI's marks all use it, so "dirty" means the same thing wherever it is shown:
/// two values are the same when both are SQL NULL or both hold the same text, ordinal. NULL is never
/// the same as the empty string.
/// </summary>
public static class UndoValueComparison
{
    /// <summary>The value's text, or null for SQL NULL (also for a missing value).</summary>
    public static string? TextOf(UndoValue? value) => value is { ValueCase: UndoValue.ValueOneofCase.Text } ? value.Text : null;

    /// <summary>Whether the value is SQL NULL (a missing value counts as NULL).</summary>
    public static bool IsNull(UndoValue? value) => value is not { ValueCase: UndoValue.ValueOneofCase.Text };

    /// <summary>Whether two values are the same (see the class remarks).</summary>
    public static bool Same(UndoValue? left, UndoValue? right) =>
        IsNull(left) == IsNull(right) && string.Equals(TextOf(left), TextOf(right), StringComparison.Ordinal);

    /// <summary>The value in column <paramref name="column"/> of <paramref name="row"/>, or null when the row has none there.</summary>
    public static UndoValue? ValueAt(UndoRow? row, int column) =>
        row is null || column < 0 || column >= row.Values.Count ? null : row.Values[column];

    /// <summary>Whether two rows hold the same values in their first <paramref name="columnCount"/> columns.</summary>
    public static bool SameRow(UndoRow left, UndoRow right, int columnCount)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        for (var i = 0; i < columnCount; i++)
        {
            if (!Same(ValueAt(left, i), ValueAt(right, i)))
            {
                return false;
            }
        }
        return true;
    }
}
