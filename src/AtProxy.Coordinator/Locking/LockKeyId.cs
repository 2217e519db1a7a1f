namespace AtProxy.Coordinator.Locking;

/// <summary>
/// One global row lock: a row of one resource database. The hash is computed once, since a
/// key is hashed for its shard and again for the shard's dictionary.
/// </summary>
internal readonly struct LockKeyId : IEquatable<LockKeyId>
{
    private readonly int _hash;

    public LockKeyId(string resourceId, string table, string primaryKey)
    {
        ResourceId = resourceId;
        Table = table;
        PrimaryKey = primaryKey;
        _hash = HashCode.Combine(resourceId, table, primaryKey);
    }

    public string ResourceId { get; }

    public string Table { get; }

    public string PrimaryKey { get; }

    public bool Equals(LockKeyId other) =>
        _hash == other._hash &&
        string.Equals(PrimaryKey, other.PrimaryKey, StringComparison.Ordinal) &&
        string.Equals(Table, other.Table, StringComparison.Ordinal) &&
        string.Equals(ResourceId, other.ResourceId, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is LockKeyId other && Equals(other);

    public override int GetHashCode() => _hash;

    public override string ToString() => $"{ResourceId}/{Table}:{PrimaryKey}";
}
