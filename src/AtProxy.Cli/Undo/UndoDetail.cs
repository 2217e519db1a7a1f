using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>One statement's undo record with its rows paired before/after (and now, when read).</summary>
internal sealed record UndoRecordDetail(UndoRecord Record, IReadOnlyList<RowChange> Rows);

/// <summary>One undo-log row with its records ready to show.</summary>
internal sealed record UndoDetail(UndoLogRow Row, IReadOnlyList<UndoRecordDetail> Records);
