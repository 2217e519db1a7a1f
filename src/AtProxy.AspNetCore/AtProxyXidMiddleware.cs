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
        if (!XidHeader.TryRead(context.Request.Headers[AtProxyHeaders.Xid], out var xid))
        {
            await RefuseAsync(context.Response, context.Request.ContentType).ConfigureAwait(false);
            return;
        }
        if (xid is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        using (client.Join(xid))
        {
            await next(context).ConfigureAwait(false);
        }
    }

    private static Task RefuseAsync(HttpResponse response, string? requestContentType)
    {
        if (requestContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            // A gRPC caller understands a status, not an HTTP 400: answer trailers-only with INVALID_ARGUMENT.
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = "3";
            response.Headers["grpc-message"] = Uri.EscapeDataString(XidHeader.MalformedMessage);
            return Task.CompletedTask;
        }
        response.StatusCode = StatusCodes.Status400BadRequest;
        return response.WriteAsync(XidHeader.MalformedMessage);
    }
}
