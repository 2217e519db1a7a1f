using Microsoft.AspNetCore.Http;

namespace AtProxy.AspNetCore;

/// <summary>What a <see cref="IGlobalTransactionHook"/> is told about the transaction and its request.</summary>
public sealed class GlobalTransactionHookContext
{
    internal GlobalTransactionHookContext(string name, HttpContext httpContext)
    {
        Name = name;
        HttpContext = httpContext;
    }

    /// <summary>The declared name of the global transaction.</summary>
    public string Name { get; }

    /// <summary>The request the transaction runs for.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>The XID, once the transaction began.</summary>
    public string? Xid { get; internal set; }

    /// <summary>The exception that rolls the transaction back (or that it committed over), if one did.</summary>
    public Exception? Exception { get; internal set; }

    /// <summary>The coordinator's last answer, once there was a commit or rollback.</summary>
    public GlobalTransactionStatus? Status { get; internal set; }
}
