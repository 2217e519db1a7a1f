namespace AtProxy.Sql;

/// <summary>How a statement refers to a bound value.</summary>
internal enum SqlParameterStyle
{
    /// <summary><c>@name</c>, rewritten by Npgsql.</summary>
    AtNamed,

    /// <summary><c>:name</c>, rewritten by Npgsql.</summary>
    ColonNamed,

    /// <summary><c>$1</c>, PostgreSQL's own; bound by position.</summary>
    Positional,
}

/// <summary>One occurrence of a parameter in the command text.</summary>
/// <param name="Name">
/// The name as Npgsql binds it: <c>p</c> for <c>@p</c> and <c>:p</c>; for <c>$3</c> the text <c>$3</c>.
/// </param>
/// <param name="Style">Which placeholder syntax was used.</param>
/// <param name="Position">For <c>$n</c>, n (1-based); otherwise 0.</param>
/// <param name="Span">Where the placeholder is in the command text.</param>
internal sealed record SqlParameterReference(string Name, SqlParameterStyle Style, int Position, TextSpan Span)
{
    /// <inheritdoc />
    public override string ToString() => Style switch
    {
        SqlParameterStyle.AtNamed => "@" + Name,
        SqlParameterStyle.ColonNamed => ":" + Name,
        _ => Name,
    };
}
