using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// The token half of masking: hides or re-presents PostgreSQL-only constructs on ScriptDom's own
/// token stream so <c>TSql160Parser</c> accepts the statement, and records each one. Tokens keep
/// their original offsets, so every fragment ScriptDom reports points into the original text.
/// </summary>
internal sealed class PostgresTokenMasker
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
        if (!t.IsName(j))
        {
            return; // not a cast PostgreSQL accepts either; the parser will say so
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

    private static readonly (TSqlTokenType, string)[] ValuePlaceholder = [(TSqlTokenType.Integer, "1")];
    private static readonly (TSqlTokenType, string)[] ConditionPlaceholder =
        [(TSqlTokenType.Integer, "1"), (TSqlTokenType.EqualsSign, "="), (TSqlTokenType.Integer, "1")];

    // Value expressions and conditions are carried as original text, never rebuilt from the tree,
    // so the parser sees a placeholder there: PostgreSQL-only expressions (bare boolean columns,
    // jsonb operators, row comparisons) then never stop it from reading the statement's structure.
    private void MaskUpdate()
    {
        var t = _tokens;
        var set = MaskTargetAfter(1, "SET") + 1;
        if (!t.IsWord(set, "SET"))
        {
            return;
        }
        var end = MaskReturning() - 1;
        var where = FindTopLevel(set + 1, end, "WHERE");
        var from = FindTopLevelFrom(set + 1, where >= 0 ? where - 1 : end);
        var setEnd = (from >= 0 ? from : where >= 0 ? where : end + 1) - 1;
        foreach (var (a, b) in t.SplitByCommas(set + 1, setEnd))
        {
            var equals = a + 1;
            if (t.IsName(a) && t.Type(a + 1) == TSqlTokenType.LeftParenthesis && IsArrayBracket(a + 1))
            {
                // SET tags[1] = ...: the subscript narrows the write, the column is still tags.
                var close = t.MatchingParenthesis(a + 1);
                t.Remove(a + 1, close);
                equals = close + 1;
            }
            if (!t.IsName(a) || t.Type(equals) != TSqlTokenType.EqualsSign || equals >= b)
            {
                return; // SET (a, b) = ...: leave it to the parser to refuse
            }
            t.AsIdentifier(a);
            t.MakeOpaque(equals + 1, b, ValuePlaceholder);
            _shape.SetValues.Add((equals + 1, b));
        }
        if (from >= 0)
        {
            MarkNames(from + 1, (where >= 0 ? where : end + 1) - 1);
            _shape.FromList = (from + 1, (where >= 0 ? where : end + 1) - 1);
        }
        MaskWhere(where, end);
    }

    private void MaskDelete()
    {
        var t = _tokens;
        if (!t.IsWord(1, "FROM"))
        {
            return; // PostgreSQL requires FROM; leave it to the parser
        }
        var last = MaskTargetAfter(2, "USING", "WHERE", "RETURNING");
        var end = MaskReturning() - 1;
        var where = FindTopLevel(last + 1, end, "WHERE");
        var usingAt = FindTopLevel(last + 1, where >= 0 ? where : end, "USING");
        if (usingAt > 0)
        {
            // T-SQL's DELETE ... FROM <tables> is PostgreSQL's DELETE ... USING <tables>.
            t.Replace(usingAt, TSqlTokenType.From, "FROM");
            _shape.Masks.Add(new MaskedConstruct(MaskKind.Using, TextSpan.FromBounds(t.Start(usingAt), t.End(usingAt))));
            MarkNames(usingAt + 1, (where >= 0 ? where : end + 1) - 1);
            _shape.FromList = (usingAt + 1, (where >= 0 ? where : end + 1) - 1);
        }
        MaskWhere(where, end);
    }

    private void MaskInsert()
    {
        var t = _tokens;
        if (!t.IsWord(1, "INTO"))
        {
            return;
        }
        var last = SkipTableName(2);
        if (last < 0)
        {
            return;
        }
        if (t.IsWord(last + 1, "AS") && t.IsName(last + 2))
        {
            MaskAlias(last + 1, last + 2);
            last += 2;
        }
        var k = last + 1;
        if (t.Type(k) == TSqlTokenType.LeftParenthesis && t.MatchingParenthesis(k) > k)
        {
            var close = t.MatchingParenthesis(k);
            for (var c = k + 1; c < close; c++)
            {
                t.AsIdentifier(c);
            }
            k = close + 1;
        }
        if (t.IsWord(k, "OVERRIDING") && t.IsWord(k + 2, "VALUE"))
        {
            t.Remove(k, k + 2);
            _shape.Masks.Add(new MaskedConstruct(MaskKind.Overriding, TextSpan.FromBounds(t.Start(k), t.End(k + 2))));
            k += 3;
        }
        var end = MaskReturning() - 1;
        var on = FindOnConflict(k);
        if (on > 0)
        {
            t.Remove(on, end);
            _shape.OnConflict = (on, end);
            _shape.Masks.Add(new MaskedConstruct(MaskKind.OnConflict, TextSpan.FromBounds(t.Start(on), t.End(end))));
            end = on - 1;
        }
        if (t.IsWord(k, "SELECT") || t.IsWord(k, "WITH") || t.IsWord(k, "TABLE") || (t.Type(k) == TSqlTokenType.LeftParenthesis && t.IsWord(k + 1, "SELECT")))
        {
            _shape.Refusal = ("INSERT ... SELECT", k, "the inserted rows are not known before it runs; insert with VALUES instead");
            return;
        }
        if (!t.IsWord(k, "VALUES"))
        {
            return; // DEFAULT VALUES, or something the parser will judge
        }
        k++;
        while (t.Type(k) == TSqlTokenType.LeftParenthesis && t.MatchingParenthesis(k) is var close && close > k && close <= end)
        {
            var row = new List<(int, int)>();
            foreach (var (a, b) in t.SplitByCommas(k + 1, close - 1))
            {
                t.MakeOpaque(a, b, ValuePlaceholder);
                row.Add((a, b));
            }
            _shape.ValuesRows.Add(row);
            k = close + 1;
            if (t.Type(k) != TSqlTokenType.Comma)
            {
                break;
            }
            k++;
        }
    }

    // SELECT <list> FROM <tables> [WHERE ...] [ORDER BY ...] <tail>: only the tables matter to the parser.
    private void MaskSelect()
    {
        var t = _tokens;
        var from = FindTopLevelFrom(1, t.Count - 1);
        if (from < 0)
        {
            return;
        }
        if (from > 1)
        {
            t.MakeOpaque(1, from - 1, ValuePlaceholder);
        }
        MaskSelectTail();
        var end = (_shape.SelectTail >= 0 ? _shape.SelectTail : t.Count) - 1;
        var next = NextSelectClause(from + 1, end);
        MarkNames(from + 1, next - 1);
        _shape.FromList = (from + 1, next - 1);
        if (t.IsWord(next, "WHERE"))
        {
            var whereEnd = NextSelectClause(next + 1, end) - 1;
            MaskWhere(next, whereEnd);
            next = whereEnd + 1;
        }
        if (t.IsWord(next, "ORDER") && t.IsWord(next + 1, "BY"))
        {
            var orderEnd = NextSelectClause(next + 2, end) - 1;
            if (orderEnd >= next + 2)
            {
                _shape.OrderBy = (next + 2, orderEnd);
                t.MakeOpaque(next + 2, orderEnd, ValuePlaceholder);
            }
        }
    }

    private int NextSelectClause(int from, int end)
    {
        var t = _tokens;
        for (var k = from; k <= end; k++)
        {
            if (t.Depth(k) == 0 && (t.IsWord(k, "WHERE") || t.IsWord(k, "GROUP") || t.IsWord(k, "HAVING") || t.IsWord(k, "WINDOW")
                || t.IsWord(k, "UNION") || t.IsWord(k, "INTERSECT") || t.IsWord(k, "EXCEPT") || (t.IsWord(k, "ORDER") && t.IsWord(k + 1, "BY"))))
            {
                return k;
            }
        }
        return end + 1;
    }

    private void MaskWhere(int where, int end)
    {
        var t = _tokens;
        if (where < 0 || where >= end)
        {
            return;
        }
        if (t.IsWord(where + 1, "CURRENT") && t.IsWord(where + 2, "OF"))
        {
            return; // a cursor position: the parser reports it and the builder refuses it
        }
        t.MakeOpaque(where + 1, end, ConditionPlaceholder);
        _shape.Where = (where + 1, end);
    }

    // Dotted names and names in table lists may be T-SQL keywords (public.orders, "user"): show them as identifiers.
    private void MarkNames(int from, int to)
    {
        var t = _tokens;
        for (var k = from; k <= to; k++)
        {
            if (t.Type(k) == TSqlTokenType.Dot)
            {
                t.AsIdentifier(k - 1);
                t.AsIdentifier(k + 1);
            }
        }
    }

    private int FindTopLevel(int from, int to, string word)
    {
        var t = _tokens;
        for (var k = from; k <= to; k++)
        {
            if (t.Depth(k) == 0 && t.IsWord(k, word))
            {
                return k;
            }
        }
        return -1;
    }

    // FROM at the top level, but not the FROM of IS [NOT] DISTINCT FROM.
    private int FindTopLevelFrom(int from, int to)
    {
        var t = _tokens;
        for (var k = from; k <= to; k++)
        {
            if (t.Depth(k) == 0 && t.IsWord(k, "FROM") && !t.IsWord(k - 1, "DISTINCT"))
            {
                return k;
            }
        }
        return -1;
    }

    private bool IsArrayBracket(int k)
    {
        foreach (var mask in _shape.Masks)
        {
            if (mask.Kind == MaskKind.ArrayBrackets && mask.Span.Start == _tokens.Start(k))
            {
                return true;
            }
        }
        return false;
    }

    private int FindOnConflict(int from)
    {
        var t = _tokens;
        for (var k = from; k < t.Count; k++)
        {
            if (t.Depth(k) == 0 && t.IsWord(k, "ON") && t.IsWord(k + 1, "CONFLICT"))
            {
                return k;
            }
        }
        return -1;
    }

    // [ONLY] name[.name] [*] [[AS] alias]; returns the last token of what was read.
    private int MaskTargetAfter(int k, params string[] notAnAlias)
    {
        var t = _tokens;
        if (t.IsWord(k, "ONLY") && t.IsName(k + 1))
        {
            t.Remove(k);
            _shape.Masks.Add(new MaskedConstruct(MaskKind.Inheritance, TextSpan.FromBounds(t.Start(k), t.End(k))));
            k++;
        }
        var last = SkipTableName(k);
        if (last < 0)
        {
            return k;
        }
        if (t.Type(last + 1) == TSqlTokenType.Star)
        {
            t.Remove(last + 1);
            _shape.Masks.Add(new MaskedConstruct(MaskKind.Inheritance, TextSpan.FromBounds(t.Start(last + 1), t.End(last + 1))));
            last++;
        }
        if (t.IsWord(last + 1, "AS") && t.IsName(last + 2))
        {
            MaskAlias(last + 1, last + 2);
            return last + 2;
        }
        if (t.IsName(last + 1) && !notAnAlias.Any(word => t.IsWord(last + 1, word)))
        {
            MaskAlias(last + 1, last + 1);
            return last + 1;
        }
        return last;
    }

    private int SkipTableName(int k)
    {
        var t = _tokens;
        if (!t.IsName(k))
        {
            return -1;
        }
        t.AsIdentifier(k);
        while (t.Type(k + 1) == TSqlTokenType.Dot && t.IsName(k + 2))
        {
            k += 2;
            t.AsIdentifier(k);
        }
        return k;
    }

    private void MaskAlias(int from, int aliasToken)
    {
        var t = _tokens;
        _shape.TargetAlias = Identifiers.Fold(t.OriginalText(aliasToken));
        t.Remove(from, aliasToken);
        _shape.Masks.Add(new MaskedConstruct(MaskKind.TargetAlias, TextSpan.FromBounds(t.Start(from), t.End(aliasToken))));
    }

    // Returns where the statement's body ends: the RETURNING token, or the token count.
    private int MaskReturning()
    {
        var t = _tokens;
        var returning = t.FindTopLevelWord(1, "RETURNING");
        if (returning < 0)
        {
            return t.Count;
        }
        t.Remove(returning, t.Count - 1);
        _shape.Returning = returning;
        _shape.Masks.Add(new MaskedConstruct(MaskKind.Returning, TextSpan.FromBounds(t.Start(returning), t.End(t.Count - 1))));
        return returning;
    }

    // LIMIT, OFFSET, FETCH and FOR ... locking clauses close a SELECT in any order; T-SQL knows none of them.
    private void MaskSelectTail()
    {
        var t = _tokens;
        for (var k = 1; k < t.Count; k++)
        {
            if (t.Depth(k) != 0)
            {
                continue;
            }
            if (t.IsWord(k, "LIMIT") || t.IsWord(k, "OFFSET") || t.IsWord(k, "FETCH") || IsRowLockStart(t, k))
            {
                t.Remove(k, t.Count - 1);
                _shape.SelectTail = k;
                return;
            }
        }
    }

    /// <summary>Whether token <paramref name="k"/> starts FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE.</summary>
    public static bool IsRowLockStart(StatementTokens t, int k) =>
        t.IsWord(k, "FOR") && (t.IsWord(k + 1, "UPDATE") || t.IsWord(k + 1, "SHARE")
            || (t.IsWord(k + 1, "NO") && t.IsWord(k + 2, "KEY")) || (t.IsWord(k + 1, "KEY") && t.IsWord(k + 2, "SHARE")));
}
