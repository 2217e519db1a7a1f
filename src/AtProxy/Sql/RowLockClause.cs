namespace AtProxy.Sql;

/// <summary>The strength of a <c>SELECT ... FOR ...</c> row lock.</summary>
internal enum RowLockStrength
{
    /// <summary><c>FOR UPDATE</c>.</summary>
    Update,

    /// <summary><c>FOR NO KEY UPDATE</c>.</summary>
    NoKeyUpdate,

    /// <summary><c>FOR SHARE</c>.</summary>
    Share,

    /// <summary><c>FOR KEY SHARE</c>.</summary>
    KeyShare,
}

/// <summary>What a locking read does when a row is already locked.</summary>
internal enum RowLockWait
{
    /// <summary>Wait (the default).</summary>
    Wait,

    /// <summary><c>NOWAIT</c>: fail at once.</summary>
    NoWait,

    /// <summary><c>SKIP LOCKED</c>: leave the row out.</summary>
    SkipLocked,
}

/// <summary>One row-locking clause of a <c>SELECT</c>.</summary>
/// <param name="Span">The clause as written.</param>
/// <param name="Strength">Update, no-key update, share or key share.</param>
/// <param name="OfTables">The names after <c>OF</c> (aliases or tables), identifier rules applied; empty for all tables.</param>
/// <param name="Wait">Wait, NOWAIT or SKIP LOCKED.</param>
internal sealed record RowLockClause(TextSpan Span, RowLockStrength Strength, IReadOnlyList<string> OfTables, RowLockWait Wait);
