namespace AtProxy.Sql.Parsing;

/// <summary>Reads the LIMIT / OFFSET / FETCH and FOR UPDATE ... clauses that close a locking SELECT.</summary>
internal static class SelectTailReader
{
    /// <summary>
    /// Reads from token <paramref name="tail"/> to the end. Returns false (with the offending token)
    /// for a clause it does not know.
    /// </summary>
    public static bool Read(StatementTokens t, ExpressionReader expressions, int tail, List<RowLockClause> locks, out SqlExpression? limit, out int errorAt)
    {
        limit = null;
        errorAt = -1;
        var limitFrom = -1;
        var limitTo = -1;
        var k = tail;
        while (k < t.Count)
        {
            var start = k;
            if (t.IsWord(k, "LIMIT") || t.IsWord(k, "OFFSET") || t.IsWord(k, "FETCH"))
            {
                k++;
                while (k < t.Count && !IsClauseStart(t, k))
                {
                    k++;
                }
                limitFrom = limitFrom < 0 ? start : limitFrom;
                limitTo = k - 1;
                continue;
            }
            if (!PostgresTokenMasker.IsRowLockStart(t, k))
            {
                errorAt = k;
                return false;
            }
            RowLockStrength strength;
            if (t.IsWord(k + 1, "UPDATE"))
            {
                strength = RowLockStrength.Update;
                k += 2;
            }
            else if (t.IsWord(k + 1, "SHARE"))
            {
                strength = RowLockStrength.Share;
                k += 2;
            }
            else if (t.IsWord(k + 1, "NO") && t.IsWord(k + 2, "KEY") && t.IsWord(k + 3, "UPDATE"))
            {
                strength = RowLockStrength.NoKeyUpdate;
                k += 4;
            }
            else if (t.IsWord(k + 1, "KEY") && t.IsWord(k + 2, "SHARE"))
            {
                strength = RowLockStrength.KeyShare;
                k += 3;
            }
            else
            {
                errorAt = k;
                return false;
            }
            var of = new List<string>();
            if (t.IsWord(k, "OF"))
            {
                k++;
                if (!t.IsName(k))
                {
                    errorAt = k;
                    return false;
                }
                while (t.IsName(k))
                {
                    while (t.Type(k + 1) == Microsoft.SqlServer.TransactSql.ScriptDom.TSqlTokenType.Dot && t.IsName(k + 2))
                    {
                        k += 2;
                    }
                    of.Add(Identifiers.Fold(t.OriginalText(k)));
                    k++;
                    if (t.Type(k) != Microsoft.SqlServer.TransactSql.ScriptDom.TSqlTokenType.Comma)
                    {
                        break;
                    }
                    k++;
                }
            }
            var wait = RowLockWait.Wait;
            if (t.IsWord(k, "NOWAIT"))
            {
                wait = RowLockWait.NoWait;
                k++;
            }
            else if (t.IsWord(k, "SKIP") && t.IsWord(k + 1, "LOCKED"))
            {
                wait = RowLockWait.SkipLocked;
                k += 2;
            }
            locks.Add(new RowLockClause(TextSpan.FromBounds(t.Start(start), t.End(k - 1)), strength, of, wait));
        }
        if (limitFrom >= 0)
        {
            limit = expressions.FromTokens(limitFrom, limitTo);
        }
        return true;
    }

    private static bool IsClauseStart(StatementTokens t, int k) =>
        t.Depth(k) == 0 && (t.IsWord(k, "LIMIT") || t.IsWord(k, "OFFSET") || t.IsWord(k, "FETCH") || PostgresTokenMasker.IsRowLockStart(t, k));
}
