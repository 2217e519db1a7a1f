namespace AtProxy.Sql;

/// <summary>What kind of value expression a SET or VALUES item is.</summary>
internal enum SqlExpressionKind
{
    /// <summary>A constant: number, string, boolean, possibly with a cast.</summary>
    Literal,

    /// <summary>A single parameter (<c>@p</c>, <c>:p</c> or <c>$1</c>), possibly with a cast.</summary>
    Parameter,

    /// <summary>The <c>NULL</c> literal.</summary>
    Null,

    /// <summary>The <c>DEFAULT</c> keyword: the server fills the value in.</summary>
    Default,

    /// <summary>Anything else: a function call, arithmetic, a sub-query.</summary>
    Expression,
}

/// <summary>A value expression exactly as written in the command text.</summary>
/// <param name="Span">Where it is in the command text (casts included).</param>
/// <param name="Text">The original text.</param>
/// <param name="Kind">Whether it is a literal, a parameter or something computed.</param>
/// <param name="ParameterName">For <see cref="SqlExpressionKind.Parameter"/>, the parameter's bind name.</param>
internal sealed record SqlExpression(TextSpan Span, string Text, SqlExpressionKind Kind, string? ParameterName = null)
{
    /// <summary>Whether the value is known before the statement runs (a literal or a parameter).</summary>
    public bool IsKnownBeforeExecution => Kind is SqlExpressionKind.Literal or SqlExpressionKind.Parameter or SqlExpressionKind.Null;

    /// <inheritdoc />
    public override string ToString() => Text;
}
