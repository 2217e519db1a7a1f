using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// The statement-level half of the masker: target aliases, RETURNING, ON CONFLICT, USING,
/// the SELECT tail, and the placeholders that stand in for value expressions and conditions.
/// </summary>
internal sealed partial class PostgresTokenMasker
{
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
            _shape.TargetOnly = true;
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
}
