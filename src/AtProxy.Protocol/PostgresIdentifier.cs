namespace AtProxy.Protocol;

/// <summary>
/// Quoting of PostgreSQL identifiers, the one way every part of AtProxy (the proxy's generated SQL,
/// its undo tables, the CLI) writes a schema, table or column name into SQL.
/// </summary>
public static class PostgresIdentifier
{
    /// <summary>
    /// <paramref name="identifier"/> as a quoted identifier: in double quotes, an embedded double quote
    /// doubled (<c>say "hi"</c> is <c>"say ""hi"""</c>), so any name is taken literally and case-sensitively.
    /// </summary>
    public static string Quote(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>
    /// <paramref name="name"/> qualified by <paramref name="schema"/> (quoted), or left to the search
    /// path when <paramref name="schema"/> is null or empty. <paramref name="name"/> is written as given:
    /// quote it first unless it is a fixed lower-case name.
    /// </summary>
    public static string Qualify(string? schema, string name) =>
        string.IsNullOrEmpty(schema) ? name : Quote(schema) + "." + name;
}
