using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>
/// A row as its table holds it now, each column in PostgreSQL's text form: <c>Values</c> is null
/// when no row has that key; <c>Error</c> says why it could not be read.
/// </summary>
internal sealed record CurrentRow(IReadOnlyList<string?>? Values, string? Error)
{
    /// <summary>The values as an undo row, for the comparison rollback makes; null when there is no such row.</summary>
    public UndoRow? Row { get; } = Values is null ? null : ToRow(Values);

    private static UndoRow ToRow(IReadOnlyList<string?> values)
    {
        var row = new UndoRow();
        row.Values.Add(values.Select(v => v is null ? new UndoValue { IsNull = true } : new UndoValue { Text = v }));
        return row;
    }
}
