using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// The token half of masking: hides or re-presents PostgreSQL-only constructs on ScriptDom's own
/// token stream so <c>TSql160Parser</c> accepts the statement, and records each one. Tokens keep
/// their original offsets, so every fragment ScriptDom reports points into the original text.
/// This file: the entry point and the constructs that can appear inside any expression.
/// </summary>
internal sealed partial class PostgresTokenMasker
{
    private readonly StatementTokens _tokens;
    private readonly StatementShape _shape;

    private PostgresTokenMasker(StatementTokens tokens, StatementShape shape)
    {
        _tokens = tokens;
        _shape = shape;
    }

    /// <summary>Masks the statement in place and returns what was found.</summary>
    public static StatementShape Mask(StatementTokens tokens, DmlKind kind, List<MaskedConstruct> masks)
    {
        var shape = new StatementShape(masks);
        var masker = new PostgresTokenMasker(tokens, shape);
        masker.MaskExpressions();
        switch (kind)
        {
            case DmlKind.Update:
                masker.MaskUpdate();
                break;
            case DmlKind.Delete:
                masker.MaskDelete();
                break;
            case DmlKind.Insert:
                masker.MaskInsert();
                break;
            case DmlKind.SelectForUpdate:
                masker.MaskSelect();
                break;
        }
        shape.Masks.Sort((a, b) => a.Span.Start.CompareTo(b.Span.Start));
        shape.Parameters.Sort((a, b) => a.Span.Start.CompareTo(b.Span.Start));
        return shape;
    }

    // Constructs that can appear inside any expression.
    private void MaskExpressions()
    {
        var t = _tokens;
        for (var k = 0; k < t.Count; k++)
        {
            var type = t.Type(k);
            if (t.IsRemoved(k))
            {
                continue;
            }
            if (type == TSqlTokenType.DoubleColon)
            {
                MaskCast(k);
            }
            else if (type == TSqlTokenType.Money && IsPositionalParameter(t[k].Text))
            {
                t.Replace(k, TSqlTokenType.Variable, t[k].Text);
                AddParameter(t[k].Text, SqlParameterStyle.Positional, int.Parse(t[k].Text.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture), TextSpan.FromBounds(t.Start(k), t.End(k)));
                _shape.Masks.Add(new MaskedConstruct(MaskKind.Parameter, TextSpan.FromBounds(t.Start(k), t.End(k))));
            }
            else if (type == TSqlTokenType.Colon && t.IsName(k + 1) && t.Start(k + 1) == t.End(k) && !IsInsideArrayBrackets(t.Start(k)))
            {
                var name = t.OriginalText(k + 1);
                var span = TextSpan.FromBounds(t.Start(k), t.End(k + 1));
                t.Replace(k, TSqlTokenType.Variable, ":" + name);
                t.Remove(k + 1, inline: true);
                AddParameter(name, SqlParameterStyle.ColonNamed, 0, span);
                _shape.Masks.Add(new MaskedConstruct(MaskKind.Parameter, span));
            }
            else if (type == TSqlTokenType.Variable && t[k].Text.Length > 1 && t[k].Text[1] != '@')
            {
                AddParameter(t[k].Text[1..], SqlParameterStyle.AtNamed, 0, TextSpan.FromBounds(t.Start(k), t.End(k)));
            }
            else if (t.IsWord(k, "ILIKE"))
            {
                t.Replace(k, TSqlTokenType.Like, "LIKE");
                _shape.Masks.Add(new MaskedConstruct(MaskKind.ILike, TextSpan.FromBounds(t.Start(k), t.End(k))));
            }
            else if ((t.IsWord(k, "ANY") || t.IsWord(k, "ALL") || t.IsWord(k, "SOME")) && IsArrayComparison(k))
            {
                var close = t.MatchingParenthesis(k + 1);
                t.Remove(k, k + 1, inline: true);
                t.Remove(close, inline: true);
                _shape.Masks.Add(new MaskedConstruct(MaskKind.ArrayComparison, TextSpan.FromBounds(t.Start(k), t.End(close))));
            }
            else if (IsTypedLiteralKeyword(k))
            {
                t.Remove(k, inline: true);
                _shape.Masks.Add(new MaskedConstruct(MaskKind.TypedLiteral, TextSpan.FromBounds(t.Start(k), t.End(k + 1))));
            }
            else if (t.IsWord(k, "NULLS") && (t.IsWord(k + 1, "FIRST") || t.IsWord(k + 1, "LAST")))
            {
                t.Remove(k, k + 1, inline: true);
                _shape.Masks.Add(new MaskedConstruct(MaskKind.NullsOrder, TextSpan.FromBounds(t.Start(k), t.End(k + 1))));
            }
        }
    }

    // ::type, ::schema.type, ::"Quoted", ::numeric(10,2), ::text[] (already parentheses), ::double precision,
    // ::character varying(20), ::timestamp(3) with time zone.
    private void MaskCast(int k)
    {
        var t = _tokens;
        var j = k + 1;
        if (!t.IsName(j) || IsReservedWord(j))
        {
            return; // not a cast PostgreSQL accepts either; the server will say so
        }
        while (t.Type(j + 1) == TSqlTokenType.Dot && t.IsName(j + 2))
        {
            j += 2;
        }
        while (true)
        {
            if (t.IsWord(j + 1, "PRECISION") || t.IsWord(j + 1, "VARYING"))
            {
                j++;
            }
            else if ((t.IsWord(j + 1, "WITH") || t.IsWord(j + 1, "WITHOUT")) && t.IsWord(j + 2, "TIME") && t.IsWord(j + 3, "ZONE"))
            {
                j += 3;
            }
            else if (t.Type(j + 1) == TSqlTokenType.LeftParenthesis && t.MatchingParenthesis(j + 1) > 0)
            {
                j = t.MatchingParenthesis(j + 1);
            }
            else
            {
                break;
            }
        }
        t.Remove(k, j, inline: true);
        _shape.Masks.Add(new MaskedConstruct(MaskKind.Cast, TextSpan.FromBounds(t.Start(k), t.End(j))));
    }

    // Words PostgreSQL reserves can never be an unquoted type name, so a cast never swallows a clause.
    private static readonly string[] ReservedWords =
    [
        "WHERE", "FROM", "RETURNING", "SET", "AND", "OR", "NOT", "ON", "USING", "GROUP", "ORDER", "LIMIT", "OFFSET",
        "FETCH", "FOR", "AS", "IS", "IN", "LIKE", "ILIKE", "BETWEEN", "THEN", "ELSE", "END", "WHEN", "UNION",
        "INTERSECT", "EXCEPT", "DO", "VALUES", "HAVING", "WINDOW", "COLLATE", "ASC", "DESC",
    ];

    private bool IsReservedWord(int k)
    {
        foreach (var word in ReservedWords)
        {
            if (_tokens.IsWord(k, word))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsPositionalParameter(string text)
    {
        if (text.Length < 2 || text[0] != '$')
        {
            return false;
        }
        for (var i = 1; i < text.Length; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                return false;
            }
        }
        return true;
    }

    private bool IsInsideArrayBrackets(int offset)
    {
        foreach (var mask in _shape.Masks)
        {
            if (mask.Kind == MaskKind.ArrayBrackets && mask.Span.Start < offset && offset < mask.Span.End)
            {
                return true;
            }
        }
        return false;
    }

    // x = ANY(array) as opposed to x = ANY(SELECT ...), which T-SQL parses as it is.
    private bool IsArrayComparison(int k)
    {
        var t = _tokens;
        if (k == 0 || t.Type(k + 1) != TSqlTokenType.LeftParenthesis || t.MatchingParenthesis(k + 1) < 0)
        {
            return false;
        }
        if (t.IsWord(k + 2, "SELECT") || t.IsWord(k + 2, "WITH") || t.IsWord(k + 2, "VALUES"))
        {
            return false;
        }
        var previous = t.OriginalText(k - 1);
        return previous.Length > 0 && previous.All(c => c is '=' or '<' or '>' or '!');
    }

    private bool IsTypedLiteralKeyword(int k)
    {
        var t = _tokens;
        var next = t.Type(k + 1);
        if (next is not (TSqlTokenType.AsciiStringLiteral or TSqlTokenType.UnicodeStringLiteral))
        {
            return false;
        }
        return t.IsWord(k, "INTERVAL") || t.IsWord(k, "DATE") || t.IsWord(k, "TIME") || t.IsWord(k, "TIMESTAMP")
            || t.IsWord(k, "TIMESTAMPTZ") || t.IsWord(k, "JSON") || t.IsWord(k, "JSONB") || t.IsWord(k, "UUID");
    }

    private void AddParameter(string name, SqlParameterStyle style, int position, TextSpan span) =>
        _shape.Parameters.Add(new SqlParameterReference(name, style, position, span));

    /// <summary>Whether token <paramref name="k"/> starts FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE.</summary>
    public static bool IsRowLockStart(StatementTokens t, int k) =>
        t.IsWord(k, "FOR") && (t.IsWord(k + 1, "UPDATE") || t.IsWord(k + 1, "SHARE")
            || (t.IsWord(k + 1, "NO") && t.IsWord(k + 2, "KEY")) || (t.IsWord(k + 1, "KEY") && t.IsWord(k + 2, "SHARE")));
}
