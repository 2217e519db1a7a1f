namespace AtProxy.Sql;

/// <summary>
/// A table named in a statement, with PostgreSQL's identifier rules applied: unquoted names
/// folded to lower case, quoted names kept exactly (without their quotes).
/// </summary>
/// <param name="Schema">The schema as written, or null when the search path decides.</param>
/// <param name="Name">The table name.</param>
/// <param name="Alias">The alias the statement gives the table, or null.</param>
/// <param name="Span">Where the table name (without alias) is in the command text.</param>
internal sealed record TableReference(string? Schema, string Name, string? Alias, TextSpan Span)
{
    /// <summary>The name the statement's other clauses use for this table: the alias, else the table name.</summary>
    public string Qualifier => Alias ?? Name;

    /// <inheritdoc />
    public override string ToString() =>
        (Schema is null ? Name : Schema + "." + Name) + (Alias is null ? "" : " AS " + Alias);
}
