using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AtProxy.AspNetCore;

/// <summary>
/// A gRPC server interceptor that joins the caller's global transaction from <c>atproxy-xid</c>
/// metadata for the duration of the call; a malformed XID fails the call with
/// <see cref="StatusCode.InvalidArgument"/> before the service runs.
/// </summary>
public sealed class AtProxyGrpcServerInterceptor(AtProxyClient client) : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using (JoinFrom(context))
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using (JoinFrom(context))
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using (JoinFrom(context))
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using (JoinFrom(context))
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
    }

    private IDisposable? JoinFrom(ServerCallContext context)
    {
        // A binary entry is no XID: read as null, it makes the values malformed.
        var values = context.RequestHeaders
            .Where(h => string.Equals(h.Key, AtProxyHeaders.Xid, StringComparison.OrdinalIgnoreCase))
            .Select(h => h.IsBinary ? null : h.Value)
            .ToList();
        if (!XidHeader.TryRead(values, out var xid))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, XidHeader.MalformedMessage));
        }
        return xid is null ? null : client.Join(xid);
    }
}
