namespace AtProxy.Transactions;

/// <summary>Checks the shape of an XID before it is joined or sent on.</summary>
public static class Xid
{
    /// <summary>The longest XID the coordinator issues.</summary>
    public const int MaxLength = 128;

    /// <summary>True when the text has the shape of an XID: 1..128 printable ASCII characters without spaces.</summary>
    public static bool IsWellFormed(string? xid)
    {
        if (string.IsNullOrEmpty(xid) || xid.Length > MaxLength)
        {
            return false;
        }
        foreach (var c in xid)
        {
            if (c <= ' ' || c > '~')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="xid"/> is well formed.</summary>
    public static void EnsureWellFormed(string? xid, string parameterName)
    {
        if (!IsWellFormed(xid))
        {
            throw new ArgumentException($"'{xid}' is not a valid XID (1..{MaxLength} printable ASCII characters, no spaces).", parameterName);
        }
    }
}
