using AtProxy.Transactions;
using Microsoft.AspNetCore.Http;

namespace AtProxy.AspNetCore;

/// <summary>
/// Joins the caller's global transaction for the rest of the request when it sends
/// <c>atproxy-xid</c>; refuses a malformed one with 400 (it is never joined). Without the header the
/// request runs as before.
/// </summary>
public sealed class AtProxyXidMiddleware(RequestDelegate next, AtProxyClient client)
{
    /// <summary>Handles one request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Headers.TryGetValue(AtProxyHeaders.Xid, out var values) || values.Count == 0)
        {
            await next(context);
            return;
        }
        var xid = values.Count == 1 ? values[0] : null;
        if (!Xid.IsWellFormed(xid))
        {
            var message = $"Malformed {AtProxyHeaders.Xid} header: expected one XID of 1..{Xid.MaxLength} printable ASCII characters.";
            if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
            {
                // A gRPC caller understands a status, not an HTTP 400: answer trailers-only with INVALID_ARGUMENT.
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "3";
                context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync(message);
            return;
        }
        using (client.Join(xid!))
        {
            await next(context);
        }
    }
}
