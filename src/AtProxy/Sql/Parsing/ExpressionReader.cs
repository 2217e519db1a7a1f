using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>Turns a token range into a <see cref="SqlExpression"/> of the original text, classified by its tokens.</summary>
internal sealed class ExpressionReader(StatementTokens tokens, IReadOnlyList<SqlParameterReference> parameters, IReadOnlyList<MaskedConstruct> masks)
{
    /// <summary>Significant tokens <paramref name="from"/> to <paramref name="to"/> (inclusive) as written.</summary>
    public SqlExpression FromTokens(int from, int to) => FromSpan(TextSpan.FromBounds(StartOf(from), tokens.End(to)));

    // An E'...' or B'...' string's token starts at its quote; its prefix belongs to the expression.
    private int StartOf(int k)
    {
        var start = tokens.Start(k);
        foreach (var mask in masks)
        {
            if (mask.Kind == MaskKind.StringLiteral && mask.Span.Start < start && start < mask.Span.End)
            {
                return mask.Span.Start;
            }
        }
        return start;
    }

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
