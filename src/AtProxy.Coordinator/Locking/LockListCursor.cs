using System.Globalization;
using AtProxy.Coordinator.Admin;

namespace AtProxy.Coordinator.Locking;

/// <summary>The order locks are listed in: oldest first, then a total order, so paging never skips or repeats a lock.</summary>
internal readonly record struct LockListCursor(long AcquiredUnixMs, long BranchId, string ResourceId, string Table, string PrimaryKey) : IComparable<LockListCursor>
{
    public static LockListCursor Of(KeyValuePair<LockKeyId, LockHolder> entry) =>
        new(entry.Value.AcquiredUnixMs, entry.Value.BranchId, entry.Key.ResourceId, entry.Key.Table, entry.Key.PrimaryKey);

    public static LockListCursor? Parse(string token)
    {
        if (PageToken.Decode(token, 5) is not { } parts)
        {
            return null;
        }
        if (!long.TryParse(parts[0], CultureInfo.InvariantCulture, out var acquired) || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var branch))
        {
            throw CoordinatorErrors.InvalidArgument("page_token is not a token this coordinator issued.");
        }
        return new LockListCursor(acquired, branch, parts[2], parts[3], parts[4]);
    }

    public string ToToken() => PageToken.Encode(
        AcquiredUnixMs.ToString(CultureInfo.InvariantCulture), BranchId.ToString(CultureInfo.InvariantCulture), ResourceId, Table, PrimaryKey);

    public int CompareTo(LockListCursor other)
    {
        var result = AcquiredUnixMs.CompareTo(other.AcquiredUnixMs);
        if (result == 0)
        {
            result = BranchId.CompareTo(other.BranchId);
        }
        if (result == 0)
        {
            result = string.CompareOrdinal(ResourceId, other.ResourceId);
        }
        if (result == 0)
        {
            result = string.CompareOrdinal(Table, other.Table);
        }
        return result != 0 ? result : string.CompareOrdinal(PrimaryKey, other.PrimaryKey);
    }
}
