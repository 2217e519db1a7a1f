namespace AtProxy.Sql;

/// <summary>What an <c>INSERT ... ON CONFLICT</c> does with a conflicting row.</summary>
internal enum ConflictAction
{
    /// <summary><c>DO NOTHING</c>: the existing row is left alone.</summary>
    DoNothing,

    /// <summary><c>DO UPDATE SET ...</c>: the existing row is updated.</summary>
    DoUpdate,
}

/// <summary>The <c>ON CONFLICT</c> clause of an upsert.</summary>
/// <param name="Span">The whole clause, from <c>ON</c> to its end.</param>
/// <param name="TargetColumns">
/// The conflict target's columns (or index expressions, as written) with identifier rules applied;
/// empty when the target is a constraint or omitted.
/// </param>
/// <param name="ConstraintName">For <c>ON CONFLICT ON CONSTRAINT name</c>, the name; otherwise null.</param>
/// <param name="TargetWhere">The partial-index predicate of the conflict target, or null.</param>
/// <param name="Action">Nothing or update.</param>
/// <param name="Set">For <c>DO UPDATE</c>, its assignments; otherwise empty.</param>
/// <param name="Where">For <c>DO UPDATE ... WHERE</c>, the condition; otherwise null.</param>
internal sealed record OnConflictClause(
    TextSpan Span,
    IReadOnlyList<string> TargetColumns,
    string? ConstraintName,
    SqlExpression? TargetWhere,
    ConflictAction Action,
    IReadOnlyList<ColumnAssignment> Set,
    SqlExpression? Where);
