using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// Reads <c>ON CONFLICT [(target) [WHERE ...] | ON CONSTRAINT name] DO NOTHING | DO UPDATE SET ... [WHERE ...]</c>
/// from the tokens the masker hid from the parser.
/// </summary>
internal static class OnConflictReader
{
    /// <summary>Reads tokens <paramref name="from"/> (the ON) to <paramref name="to"/>; on failure returns null and the offending token.</summary>
    public static OnConflictClause? Read(StatementTokens t, ExpressionReader expressions, int from, int to, out int errorAt, out string? error)
    {
        errorAt = from;
        error = null;
        var k = from + 2;
        var targets = new List<string>();
        string? constraint = null;
        SqlExpression? targetWhere = null;
        if (t.Type(k) == TSqlTokenType.LeftParenthesis)
        {
            var close = t.MatchingParenthesis(k);
            if (close < 0 || close > to)
            {
                return Fail(k, "an unbalanced conflict target", out errorAt, out error);
            }
            foreach (var (a, b) in t.SplitByCommas(k + 1, close - 1))
            {
                targets.Add(a == b && t.IsName(a) ? Identifiers.Fold(t.OriginalText(a)) : expressions.FromTokens(a, b).Text);
            }
            k = close + 1;
            if (t.IsWord(k, "WHERE"))
            {
                var doAt = FindWordAtDepth(t, k + 1, to, t.Depth(k), "DO");
                if (doAt < 0)
                {
                    return Fail(k, "ON CONFLICT without DO", out errorAt, out error);
                }
                targetWhere = expressions.FromTokens(k + 1, doAt - 1);
                k = doAt;
            }
        }
        else if (t.IsWord(k, "ON") && t.IsWord(k + 1, "CONSTRAINT") && t.IsName(k + 2))
        {
            constraint = Identifiers.Fold(t.OriginalText(k + 2));
            k += 3;
        }

        if (!t.IsWord(k, "DO"))
        {
            return Fail(k, "ON CONFLICT without DO NOTHING or DO UPDATE", out errorAt, out error);
        }
        var span = TextSpan.FromBounds(t.Start(from), t.End(to));
        if (t.IsWord(k + 1, "NOTHING") && k + 1 == to)
        {
            return new OnConflictClause(span, targets, constraint, targetWhere, ConflictAction.DoNothing, [], null);
        }
        if (!(t.IsWord(k + 1, "UPDATE") && t.IsWord(k + 2, "SET")))
        {
            return Fail(k, "ON CONFLICT without DO NOTHING or DO UPDATE", out errorAt, out error);
        }
        var setFrom = k + 3;
        var whereAt = FindWordAtDepth(t, setFrom, to, t.Depth(k), "WHERE");
        var setTo = whereAt < 0 ? to : whereAt - 1;
        var set = new List<ColumnAssignment>();
        foreach (var (a, b) in t.SplitByCommas(setFrom, setTo))
        {
            if (!t.IsName(a) || t.Type(a + 1) != TSqlTokenType.EqualsSign || a + 2 > b)
            {
                return Fail(a, "a DO UPDATE SET item that is not column = value", out errorAt, out error);
            }
            set.Add(new ColumnAssignment(
                Identifiers.Fold(t.OriginalText(a)),
                TextSpan.FromBounds(t.Start(a), t.End(a)),
                expressions.FromTokens(a + 2, b)));
        }
        if (set.Count == 0)
        {
            return Fail(setFrom, "DO UPDATE SET without assignments", out errorAt, out error);
        }
        var where = whereAt < 0 || whereAt == to ? null : expressions.FromTokens(whereAt + 1, to);
        return new OnConflictClause(span, targets, constraint, targetWhere, ConflictAction.DoUpdate, set, where);
    }

    private static OnConflictClause? Fail(int k, string what, out int errorAt, out string? error)
    {
        errorAt = k;
        error = what;
        return null;
    }

    private static int FindWordAtDepth(StatementTokens t, int from, int to, int depth, string word)
    {
        for (var k = from; k <= to; k++)
        {
            if (t.Depth(k) == depth && t.IsWord(k, word))
            {
                return k;
            }
        }
        return -1;
    }
}
