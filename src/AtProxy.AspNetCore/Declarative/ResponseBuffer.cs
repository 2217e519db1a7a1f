using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AtProxy.AspNetCore;

/// <summary>
/// Holds a response back while its global transaction is undecided, so that nothing reaches the
/// client before the commit succeeded: a commit that fails becomes an error response instead of a
/// success already sent.
/// </summary>
internal sealed class ResponseBuffer
{
    private readonly HttpContext _context;
    private readonly IHttpResponseBodyFeature _original;
    private readonly MemoryStream _buffer = new();
    private readonly StreamResponseBodyFeature _buffered;
    private bool _ended;

    private ResponseBuffer(HttpContext context)
    {
        _context = context;
        _original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        _buffered = new StreamResponseBodyFeature(_buffer, _original);
        context.Features.Set<IHttpResponseBodyFeature>(_buffered);
    }

    /// <summary>From now on the response body goes to memory.</summary>
    public static ResponseBuffer Start(HttpContext context) => new(context);

    /// <summary>Drops what was written and restores the real body: the exception on its way up decides the response.</summary>
    public async Task DiscardAsync()
    {
        if (!await EndAsync().ConfigureAwait(false))
        {
            return;
        }
        if (!_context.Response.HasStarted)
        {
            _context.Response.Clear();
        }
    }

    /// <summary>Sends what was written, now that the transaction is decided.</summary>
    public async Task SendAsync()
    {
        if (await EndAsync().ConfigureAwait(false) && _buffer.Length > 0)
        {
            await _original.Stream.WriteAsync(_buffer.GetBuffer().AsMemory(0, (int)_buffer.Length), _context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task<bool> EndAsync()
    {
        if (_ended)
        {
            return false;
        }
        _ended = true;
        await _buffered.CompleteAsync().ConfigureAwait(false);
        _context.Features.Set(_original);
        return true;
    }
}
