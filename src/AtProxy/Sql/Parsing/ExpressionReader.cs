using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>Turns a parsed fragment or a token range into a <see cref="SqlExpression"/> of the original text.</summary>
internal sealed class ExpressionReader(StatementTokens tokens, IReadOnlyList<SqlParameterReference> parameters)
{
    /// <summary>The fragment's text as written, grown over masked casts next to it.</summary>
    public SqlExpression FromFragment(TSqlFragment fragment) =>
        FromSpan(tokens.Widen(fragment.StartOffset, fragment.StartOffset + fragment.FragmentLength));

    /// <summary>Significant tokens <paramref name="from"/> to <paramref name="to"/> (inclusive) as written.</summary>
    public SqlExpression FromTokens(int from, int to) => FromSpan(TextSpan.FromBounds(tokens.Start(from), tokens.End(to)));

    /// <summary>The text of <paramref name="span"/>, classified by the tokens in it.</summary>
    public SqlExpression FromSpan(TextSpan span)
    {
        var text = span.Of(tokens.CommandText);
        var first = tokens.IndexAtOrAfter(span.Start);
        var kept = 0;
        var only = -1;
        var signed = false;
        for (var k = first; k < tokens.Count && tokens.Start(k) < span.End; k++)
        {
            if (tokens.IsInlineRemoved(k))
            {
                continue; // casts and typed-literal keywords do not change what the value is
            }
            if (kept == 0 && tokens.Type(k) is TSqlTokenType.Minus or TSqlTokenType.Plus)
            {
                signed = true;
                continue;
            }
            kept++;
            only = k;
        }
        var kind = kept == 1 ? Classify(only, signed) : SqlExpressionKind.Expression;
        string? parameterName = null;
        if (kind == SqlExpressionKind.Parameter)
        {
            foreach (var parameter in parameters)
            {
                if (span.Contains(parameter.Span))
                {
                    parameterName = parameter.Name;
                    break;
                }
            }
        }
        return new SqlExpression(span, text, kind, parameterName);
    }

    private SqlExpressionKind Classify(int k, bool signed)
    {
        switch (tokens.Type(k))
        {
            case TSqlTokenType.Integer or TSqlTokenType.Numeric or TSqlTokenType.Real:
                return SqlExpressionKind.Literal;
            case TSqlTokenType.AsciiStringLiteral or TSqlTokenType.UnicodeStringLiteral when !signed:
                return SqlExpressionKind.Literal;
            case TSqlTokenType.Variable when !signed:
                return SqlExpressionKind.Parameter;
            case TSqlTokenType.Null when !signed:
                return SqlExpressionKind.Null;
            case TSqlTokenType.Default when !signed:
                return SqlExpressionKind.Default;
        }
        if (!signed && (tokens.IsWord(k, "TRUE") || tokens.IsWord(k, "FALSE")))
        {
            return SqlExpressionKind.Literal;
        }
        return SqlExpressionKind.Expression;
    }
}
