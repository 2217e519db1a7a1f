namespace AtProxy.Sql;

/// <summary>
/// A table named in a statement, with PostgreSQL's identifier rules applied: unquoted names
/// folded to lower case, quoted names kept exactly (without their quotes).
/// </summary>
/// <param name="Schema">The schema as written, or null when the search path decides.</param>
/// <param name="Name">The table name.</param>
/// <param name="Alias">The alias the statement gives the table, or null.</param>
/// <param name="Span">Where the table name (without alias) is in the command text.</param>
/// <param name="Only">True for <c>ONLY name</c>: the table itself, without tables inheriting from it.</param>
internal sealed record TableReference(string? Schema, string Name, string? Alias, TextSpan Span, bool Only = false)
{
    /// <summary>The name the statement's other clauses use for this table: the alias, else the table name.</summary>
    public string Qualifier => Alias ?? Name;

    /// <inheritdoc />
    public override string ToString() =>
        (Only ? "ONLY " : "") + (Schema is null ? Name : Schema + "." + Name) + (Alias is null ? "" : " AS " + Alias);
}
