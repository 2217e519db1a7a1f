using System.Data.Common;
using AtProxy.Protocol.V1;

namespace AtProxy.Undo;

/// <summary>Building, reading and comparing the text-form rows of undo records.</summary>
internal static class RowImage
{
    private static readonly UndoValue Null = new() { IsNull = true };

    public static UndoValue Value(string? text) => text is null ? Null : new UndoValue { Text = text };

    public static string? Text(UndoValue value) => value.ValueCase == UndoValue.ValueOneofCase.Text ? value.Text : null;

    /// <summary>The current reader row's first <paramref name="count"/> columns, each selected as text.</summary>
    public static UndoRow Read(DbDataReader reader, int count) => Read(reader, 0, count);

    /// <summary>The current reader row's <paramref name="count"/> columns from <paramref name="first"/> on, each selected as text.</summary>
    public static UndoRow Read(DbDataReader reader, int first, int count)
    {
        var row = new UndoRow();
        for (var i = first; i < first + count; i++)
        {
            row.Values.Add(Value(reader.IsDBNull(i) ? null : reader.GetString(i)));
        }
        return row;
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
}
