using System.Data.Common;
using AtProxy.Images;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;

namespace AtProxy.Undo;

/// <summary>Building, reading and comparing the text-form rows of undo records.</summary>
internal static class RowImage
{
    private static readonly UndoValue Null = new() { IsNull = true };

    public static UndoValue Value(string? text) => text is null ? Null : new UndoValue { Text = text };

    public static string? Text(UndoValue value) => UndoValueComparison.TextOf(value);

    /// <summary>The row whose record text (see <see cref="CanonicalText"/>) is in column <paramref name="ordinal"/>.</summary>
    public static UndoRow ReadRecord(DbDataReader reader, int ordinal, int count)
    {
        var row = new UndoRow();
        foreach (var field in RecordText.Split(reader.GetString(ordinal), count))
        {
            row.Values.Add(Value(field));
        }
        return row;
    }

    /// <summary>The row in <paramref name="form"/>: one record column, or <paramref name="count"/> text columns.</summary>
    public static UndoRow Read(DbDataReader reader, int count, ImageForm form) =>
        form == ImageForm.Canonical ? ReadRecord(reader, 0, count) : Read(reader, 0, count);

    /// <summary>The current reader row's <paramref name="count"/> columns from <paramref name="first"/> on, each selected as text (format version 1).</summary>
    public static UndoRow Read(DbDataReader reader, int first, int count)
    {
        var row = new UndoRow();
        for (var i = first; i < first + count; i++)
        {
            row.Values.Add(Value(reader.IsDBNull(i) ? null : reader.GetString(i)));
        }
        return row;
    }

    /// <summary>Rollback's dirty-write comparison, the one <see cref="UndoValueComparison"/> owns.</summary>
    public static bool SameValues(UndoRow left, UndoRow right, IReadOnlyList<UndoColumn> columns) =>
        UndoValueComparison.SameRow(left, right, columns.Count);
}
