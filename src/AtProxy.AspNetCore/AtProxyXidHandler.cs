namespace AtProxy.AspNetCore;

/// <summary>
/// An <see cref="HttpClient"/> handler that sends the ambient global transaction's XID in
/// <c>atproxy-xid</c>, so the called service joins it. Add with
/// <c>services.AddHttpClient(...).AddAtProxyXidPropagation()</c>.
/// </summary>
public sealed class AtProxyXidHandler(AtProxyClient client) : DelegatingHandler
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        AddXid(request);
        return base.SendAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        AddXid(request);
        return base.Send(request, cancellationToken);
    }

    private void AddXid(HttpRequestMessage request)
    {
        if (client.CurrentXid is { } xid)
        {
            request.Headers.Remove(AtProxyHeaders.Xid);
            request.Headers.TryAddWithoutValidation(AtProxyHeaders.Xid, xid);
        }
    }
}
