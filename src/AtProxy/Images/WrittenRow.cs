using AtProxy.Protocol.V1;

namespace AtProxy.Images;

/// <summary>
/// One row a write statement reported through its hidden RETURNING columns: its primary key, its
/// after image (null for a DELETE, which leaves no row) and whether an upsert inserted it.
/// </summary>
internal sealed record WrittenRow(IReadOnlyList<string> Key, UndoRow? Row, bool Inserted);
