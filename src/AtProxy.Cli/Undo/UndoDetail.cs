using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>One statement's undo record with its rows paired before/after (and now, when read).</summary>
internal sealed record UndoRecordDetail(UndoRecord Record, IReadOnlyList<RowChange> Rows);

/// <summary>One undo-log row with its records ready to show, and how its transaction ended once asked.</summary>
internal sealed record UndoDetail(UndoLogRow Row, IReadOnlyList<UndoRecordDetail> Records)
{
    public TransactionOutcome? Outcome { get; init; }

    /// <summary>The same detail with the outcome known, also to each row (its advice depends on it).</summary>
    public UndoDetail WithOutcome(TransactionOutcome outcome) => this with
    {
        Outcome = outcome,
        Records = [.. Records.Select(record => record with { Rows = [.. record.Rows.Select(change => change with { Outcome = outcome })] })],
    };
}
