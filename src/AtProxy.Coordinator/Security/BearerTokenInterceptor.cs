using System.Security.Cryptography;
using System.Text;
using AtProxy.Coordinator.Configuration;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Security;

/// <summary>
/// Checks <c>authorization: Bearer &lt;token&gt;</c> on every call when tokens are configured.
/// Application calls accept the application or the admin token; admin calls need the admin
/// token (the application token is PERMISSION_DENIED there). The health service stays open.
/// Wrong tokens on admin calls count against the caller's address like those of the admin
/// endpoint (<see cref="AdminTokenThrottle"/>): past the limit its admin calls are RESOURCE_EXHAUSTED
/// for the rest of the minute. Application calls are not throttled: a misconfigured application
/// must not lock out a healthy one on the same host.
/// </summary>
internal sealed class BearerTokenInterceptor(IOptions<CoordinatorOptions> options, AdminTokenThrottle throttle, ILogger<BearerTokenInterceptor> logger) : Interceptor
{
    private const string AdminServicePrefix = "/atproxy.v1.Admin/";
    private const string HealthServicePrefix = "/grpc.health.v1.Health/";

    private readonly byte[]? _applicationToken = Bytes(options.Value.ApplicationToken);
    private readonly byte[]? _adminToken = Bytes(options.Value.AdminToken);

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    private void Authorize(ServerCallContext context)
    {
        var method = context.Method;
        if (method.StartsWith(HealthServicePrefix, StringComparison.Ordinal))
        {
            return;
        }
        var admin = method.StartsWith(AdminServicePrefix, StringComparison.Ordinal);
        // Admin calls fall back to the application token when no admin token is set.
        var required = admin ? _adminToken ?? _applicationToken : _applicationToken;
        if (required is null)
        {
            return;
        }
        var address = admin ? context.GetHttpContext().Connection.RemoteIpAddress : null;
        if (admin && throttle.RefusedFor(address) is { } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            Log.AdminTokenThrottled(logger, address?.ToString() ?? "?", seconds);
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"Too many wrong admin tokens from this address: admin calls are refused for {seconds} s more."));
        }
        var presented = Presented(context);
        if (presented is null)
        {
            throw Refuse(context, StatusCode.Unauthenticated, "This coordinator requires 'authorization: Bearer <token>'.");
        }
        if (Matches(presented, required) || (!admin && _adminToken is not null && Matches(presented, _adminToken)))
        {
            return;
        }
        if (admin && _adminToken is not null && _applicationToken is not null && Matches(presented, _applicationToken))
        {
            throw Refuse(context, StatusCode.PermissionDenied, "The application token does not allow admin calls; use the admin token.");
        }
        if (admin)
        {
            throttle.Failed(address);
        }
        throw Refuse(context, StatusCode.Unauthenticated, "The bearer token is not valid for this coordinator.");
    }

    private RpcException Refuse(ServerCallContext context, StatusCode code, string message)
    {
        Log.Unauthenticated(logger, context.Method, context.Peer, message);
        return new RpcException(new Status(code, message));
    }

    private static byte[]? Presented(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        const string scheme = "Bearer ";
        return header is not null && header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? Encoding.UTF8.GetBytes(header[scheme.Length..].Trim())
            : null;
    }

    private static bool Matches(byte[] presented, byte[] expected) => CryptographicOperations.FixedTimeEquals(presented, expected);

    private static byte[]? Bytes(string? token) => string.IsNullOrEmpty(token) ? null : Encoding.UTF8.GetBytes(token);
}
