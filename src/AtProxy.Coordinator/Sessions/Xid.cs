using System.Globalization;

namespace AtProxy.Coordinator.Sessions;

/// <summary>The printable id of a global transaction: "&lt;coordinator-node&gt;:&lt;sequence&gt;".</summary>
internal static class Xid
{
    public const int MaxLength = 128;

    public static string Format(string nodeId, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{nodeId}:{sequence}");

    /// <summary>Explains why <paramref name="xid"/> is not a well-formed XID, or returns null when it is.</summary>
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
