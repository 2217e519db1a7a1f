namespace AtProxy.Transactions;

/// <summary>
/// What the statements of the current flow take part in: a global transaction (each local
/// transaction becomes a branch with undo records and global locks) or a <c>GlobalLock</c> scope
/// (local transactions only check the global locks of the rows they write; nothing is registered).
/// </summary>
internal readonly record struct AmbientTransaction
{
    private AmbientTransaction(string? xid) => Xid = xid;

    /// <summary>The global transaction <paramref name="xid"/>.</summary>
    public static AmbientTransaction Global(string xid)
    {
        ArgumentException.ThrowIfNullOrEmpty(xid);
        return new AmbientTransaction(xid);
    }

    /// <summary>A GlobalLock scope outside any global transaction.</summary>
    public static AmbientTransaction GlobalLockScope { get; } = new(null);

    /// <summary>The global transaction's XID; null only in a GlobalLock scope.</summary>
    public string? Xid { get; }

    /// <summary>True for a GlobalLock scope: check locks, register no branch, write no undo.</summary>
    public bool IsGlobalLock => Xid is null;

    /// <summary>For messages: "global transaction X" or "a GlobalLock scope".</summary>
    public override string ToString() => Xid is { } xid ? $"global transaction {xid}" : "a GlobalLock scope";
}
