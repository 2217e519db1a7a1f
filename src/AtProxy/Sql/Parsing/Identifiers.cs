using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>PostgreSQL's identifier rules applied to what ScriptDom or the lexer read.</summary>
internal static class Identifiers
{
    /// <summary>Unquoted names fold to lower case; quoted names are kept exactly.</summary>
    public static string Fold(Identifier identifier) =>
        identifier.QuoteType == QuoteType.NotQuoted ? identifier.Value.ToLowerInvariant() : identifier.Value;

    /// <summary>The same rule for a raw token: <c>"Name"</c> (with <c>""</c> escapes) or a bare word.</summary>
    public static string Fold(string tokenText)
    {
        if (tokenText.Length >= 2 && tokenText[0] == '"' && tokenText[^1] == '"')
        {
            return tokenText[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal);
        }
        return tokenText.ToLowerInvariant();
    }
}
