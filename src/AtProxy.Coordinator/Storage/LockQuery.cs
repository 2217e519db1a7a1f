using AtProxy.Coordinator.Locking;

namespace AtProxy.Coordinator.Storage;

/// <summary>A page of the lock list: filters (empty = any), the cursor to continue after, limit.</summary>
internal sealed record LockQuery(string ResourceId, string Table, string PrimaryKeyPrefix, string Xid, LockListCursor? After, int Limit)
{
    /// <summary>True when the entry passes the filters and lies after the cursor.</summary>
    public bool Matches(KeyValuePair<LockKeyId, LockHolder> entry) =>
        (ResourceId.Length == 0 || entry.Key.ResourceId == ResourceId) &&
        (Table.Length == 0 || entry.Key.Table == Table) &&
        entry.Key.PrimaryKey.StartsWith(PrimaryKeyPrefix, StringComparison.Ordinal) &&
        (Xid.Length == 0 || entry.Value.Xid == Xid) &&
        (After is null || LockListCursor.Of(entry).CompareTo(After.Value) > 0);
}
