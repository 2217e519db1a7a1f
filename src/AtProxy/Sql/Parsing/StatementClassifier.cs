using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// Decides from a statement's leading tokens whether it needs the parser at all: writes and
/// locking reads do; everything else passes through, or is refused outright when the proxy
/// could never undo it.
/// </summary>
internal static class StatementClassifier
{
    /// <summary>The route for a statement: a kind to recognize, or a construct to refuse (with the offending token).</summary>
    public readonly record struct Route(DmlKind Kind, string? Refused = null, int RefusedAt = 0);

    /// <summary>Classifies the statement.</summary>
    public static Route Classify(StatementTokens t)
    {
        if (t.IsWord(0, "INSERT"))
        {
            return new Route(DmlKind.Insert);
        }
        if (t.IsWord(0, "UPDATE"))
        {
            return new Route(DmlKind.Update);
        }
        if (t.IsWord(0, "DELETE"))
        {
            return new Route(DmlKind.Delete);
        }
        if (t.IsWord(0, "SELECT"))
        {
            return HasTopLevelRowLock(t) ? new Route(DmlKind.SelectForUpdate) : new Route(DmlKind.PassThrough);
        }
        if (t.IsWord(0, "WITH"))
        {
            return ClassifyWith(t);
        }
        if (t.IsWord(0, "MERGE"))
        {
            return Refuse("MERGE", 0);
        }
        if (t.IsWord(0, "TRUNCATE"))
        {
            return Refuse("TRUNCATE", 0);
        }
        if (t.IsWord(0, "COPY"))
        {
            // COPY ... TO only reads; COPY ... FROM writes rows the proxy never sees.
            var from = t.FindTopLevelWord(1, "FROM");
            return from > 0 ? Refuse("COPY ... FROM", 0) : new Route(DmlKind.PassThrough);
        }
        if (t.IsWord(0, "DROP") && HasTopLevelComma(t))
        {
            return Refuse("Multi-table DDL (DROP of several objects)", 0);
        }
        if (t.IsWord(0, "CALL"))
        {
            return Refuse("CALL (a procedure's writes cannot be imaged)", 0);
        }
        if (t.IsWord(0, "DO"))
        {
            return Refuse("DO (an anonymous block's writes cannot be imaged)", 0);
        }
        if (t.IsWord(0, "EXECUTE"))
        {
            return Refuse("EXECUTE of a prepared statement", 0);
        }
        return new Route(DmlKind.PassThrough);
    }

    private static Route ClassifyWith(StatementTokens t)
    {
        for (var k = 1; k < t.Count; k++)
        {
            if (t.IsWord(k, "INSERT") || t.IsWord(k, "DELETE") || t.IsWord(k, "MERGE")
                || (t.IsWord(k, "UPDATE") && !IsLockingUpdate(t, k)))
            {
                return Refuse("CTE-wrapped DML (WITH ... " + t.OriginalText(k).ToUpperInvariant() + ")", k);
            }
        }
        if (HasTopLevelRowLock(t))
        {
            return Refuse("SELECT ... FOR UPDATE under WITH", 0);
        }
        return new Route(DmlKind.PassThrough);
    }

    // The UPDATE of FOR UPDATE / FOR NO KEY UPDATE is a lock, not a write.
    private static bool IsLockingUpdate(StatementTokens t, int k) => t.IsWord(k - 1, "FOR") || t.IsWord(k - 1, "KEY");

    private static bool HasTopLevelRowLock(StatementTokens t)
    {
        for (var k = 1; k < t.Count; k++)
        {
            if (t.Depth(k) == 0 && PostgresTokenMasker.IsRowLockStart(t, k))
            {
                return true;
            }
        }
        return false;
    }

    private static bool HasTopLevelComma(StatementTokens t)
    {
        for (var k = 1; k < t.Count; k++)
        {
            if (t.Depth(k) == 0 && t.Type(k) == TSqlTokenType.Comma)
            {
                return true;
            }
        }
        return false;
    }

    private static Route Refuse(string construct, int at) => new(DmlKind.PassThrough, construct, at);
}
