using System.Diagnostics.CodeAnalysis;
using AtProxy.Transactions;

namespace AtProxy.AspNetCore;

/// <summary>
/// Reads the caller's XID from the values of <c>atproxy-xid</c>, alike for an HTTP header and for
/// gRPC metadata: absent, exactly one well-formed XID (see <see cref="Xid"/>), or malformed.
/// </summary>
internal static class XidHeader
{
    /// <summary>The answer to a malformed <c>atproxy-xid</c>, whatever the transport.</summary>
    public const string MalformedMessage = $"Malformed {AtProxyHeaders.Xid} header: expected one XID of the form {Xid.Shape}.";

    /// <summary>
    /// False when the values are malformed: more than one, a binary or null one, or one that is not an
    /// XID. Otherwise <paramref name="xid"/> is the XID to join, or null when no value was sent.
    /// </summary>
    public static bool TryRead(IReadOnlyList<string?> values, out string? xid)
    {
        xid = null;
        if (values.Count == 0)
        {
            return true;
        }
        if (values.Count == 1 && Xid.IsWellFormed(values[0]))
        {
            xid = values[0];
            return true;
        }
        return false;
    }
}
