using System.Diagnostics.CodeAnalysis;
using System.Globalization;

// The namespace is the one this type had in the AtProxy package before it moved here (AtProxy
// forwards it), so code that calls AtProxy.Transactions.Xid keeps compiling and running.
namespace AtProxy.Transactions;

/// <summary>
/// The XID of a global transaction, the one rule for the coordinator that issues it, the proxy that
/// joins it and the services that pass it on: <c>&lt;coordinator-node&gt;:&lt;sequence&gt;</c>, at
/// most <see cref="MaxLength"/> printable ASCII characters without spaces, the sequence a positive
/// decimal number (e.g. <c>tc:42</c>; the node may itself hold colons).
/// </summary>
public static class Xid
{
    /// <summary>The longest XID the coordinator issues or accepts.</summary>
    public const int MaxLength = 128;

    /// <summary>The rule in words, for messages: what a well-formed XID looks like.</summary>
    public const string Shape = "'node:sequence' (at most 128 printable ASCII characters, no spaces, ending in a positive sequence number)";

    /// <summary>The XID the coordinator <paramref name="nodeId"/> issues for its <paramref name="sequence"/>th transaction.</summary>
    public static string Format(string nodeId, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{nodeId}:{sequence}");

    /// <summary>True when <paramref name="xid"/> is well formed (see <see cref="Xid"/>).</summary>
    public static bool IsWellFormed([NotNullWhen(true)] string? xid) => Problem(xid) is null;

    /// <summary>Throws <see cref="ArgumentException"/> (saying what is wrong) unless <paramref name="xid"/> is well formed.</summary>
    public static void EnsureWellFormed([NotNull] string? xid, string parameterName)
    {
        if (!IsWellFormed(xid))
        {
            throw new ArgumentException($"{Problem(xid)} An XID is {Shape}.", parameterName);
        }
    }

    /// <summary>Explains why <paramref name="xid"/> is not a well-formed XID, in one sentence, or returns null when it is.</summary>
    public static string? Problem(string? xid)
    {
        if (string.IsNullOrEmpty(xid))
        {
            return "The XID is empty.";
        }
        if (xid.Length > MaxLength)
        {
            return $"The XID is {xid.Length} characters long; at most {MaxLength} are allowed.";
        }
        foreach (var c in xid)
        {
            if (c is < '!' or > '~')
            {
                return $"The XID '{Printable(xid)}' contains a character that is not printable ASCII.";
            }
        }
        var colon = xid.LastIndexOf(':');
        if (colon <= 0 || colon == xid.Length - 1)
        {
            return $"The XID '{xid}' is not of the form 'node:sequence'.";
        }
        if (!long.TryParse(xid.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) || sequence <= 0)
        {
            return $"The XID '{xid}' does not end in a positive sequence number.";
        }
        return null;
    }

    private static string Printable(string text) =>
        new(text.Take(MaxLength).Select(c => c is < ' ' or > '~' ? '?' : c).ToArray());
}
