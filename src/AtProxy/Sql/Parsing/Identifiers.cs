using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>PostgreSQL's identifier rules applied to what ScriptDom or the lexer read.</summary>
internal static class Identifiers
{
    /// <summary>Unquoted names fold to lower case; quoted names are kept exactly.</summary>
    public static string Fold(Identifier identifier) =>
        identifier.QuoteType == QuoteType.NotQuoted ? FoldUnquoted(identifier.Value) : identifier.Value;

    /// <summary>The same rule for a raw token: <c>"Name"</c> (with <c>""</c> escapes) or a bare word.</summary>
    public static string Fold(string tokenText)
    {
        if (tokenText.Length >= 2 && tokenText[0] == '"' && tokenText[^1] == '"')
        {
            return tokenText[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal);
        }
        return FoldUnquoted(tokenText);
    }

    // PostgreSQL (UTF-8) lowers only ASCII letters of an unquoted name: "ÄBC" is "Äbc".
    private static string FoldUnquoted(string name)
    {
        foreach (var c in name)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                return string.Create(name.Length, name, static (span, source) =>
                {
                    for (var i = 0; i < source.Length; i++)
                    {
                        span[i] = char.IsAsciiLetterUpper(source[i]) ? (char)(source[i] | 0x20) : source[i];
                    }
                });
            }
        }
        return name;
    }
}
