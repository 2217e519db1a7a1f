using AtProxy.Protocol.V1;

namespace AtProxy.Undo;

/// <summary>Building and comparing the text-form rows of undo records.</summary>
internal static class RowImage
{
    private static readonly UndoValue Null = new() { IsNull = true };

    public static UndoValue Value(string? text) => text is null ? Null : new UndoValue { Text = text };

    public static string? Text(UndoValue value) => value.ValueCase == UndoValue.ValueOneofCase.Text ? value.Text : null;

    /// <summary>The lock-key text of a row: its key values joined by ',' with ',' and '\' escaped.</summary>
    public static string PrimaryKeyText(UndoRow row, IReadOnlyList<int> keyIndexes)
    {
        if (keyIndexes.Count == 1)
        {
            return Escape(Text(row.Values[keyIndexes[0]]) ?? "");
        }
        return string.Join(',', keyIndexes.Select(i => Escape(Text(row.Values[i]) ?? "")));
    }

    public static bool SameValues(UndoRow left, UndoRow right, IReadOnlyList<UndoColumn> columns)
    {
        for (var i = 0; i < columns.Count; i++)
        {
            if (!Equals(Text(left.Values[i]), Text(right.Values[i])) ||
                left.Values[i].ValueCase != right.Values[i].ValueCase)
            {
                return false;
            }
        }
        return true;
    }

    private static string Escape(string value) =>
        value.Contains(',') || value.Contains('\\') ? value.Replace("\\", "\\\\").Replace(",", "\\,") : value;
}
