namespace AtProxy.AspNetCore;

/// <summary>Names of what AtProxy puts on the wire between services.</summary>
public static class AtProxyHeaders
{
    /// <summary>The HTTP header and gRPC metadata key that carries the XID of the caller's global transaction.</summary>
    public const string Xid = "atproxy-xid";
}
