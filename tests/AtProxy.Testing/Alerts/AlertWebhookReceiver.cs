using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using AtProxy.Hosting;

namespace AtProxy.Testing.Alerts;

/// <summary>
/// A real HTTP endpoint for the coordinator's alert webhook: it accepts every POST on
/// <see cref="Url"/> with 200 and keeps the JSON bodies, in the order they came.
/// </summary>
public sealed class AlertWebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<JsonElement> _received = new();
    private readonly Task _loop;

    public AlertWebhookReceiver()
    {
        // Ports are found free, then bound: another program may take one in between, so try a few.
        for (var attempt = 1; ; attempt++)
        {
            Url = new Uri($"http://127.0.0.1:{FreePort.Find()}/alerts/");
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add(Url.ToString());
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }
        _loop = Task.Run(ReceiveAsync);
    }

    /// <summary>The address to give the coordinator as <c>Coordinator:AlertWebhookUrl</c>.</summary>
    public Uri Url { get; }

    /// <summary>Every body received so far.</summary>
    public IReadOnlyList<JsonElement> Received => [.. _received];

    /// <summary>The bodies received about <paramref name="xid"/> of the given kind ("retry_timeout"...).</summary>
    public IReadOnlyList<JsonElement> AlertsFor(string xid, string kind) =>
        [.. _received.Where(a => a.GetProperty("xid").GetString() == xid && a.GetProperty("kind").GetString() == kind)];

    private async Task ReceiveAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.InputStream);
                _received.Enqueue(document.RootElement.Clone());
                context.Response.StatusCode = 200;
            }
            catch (JsonException)
            {
                context.Response.StatusCode = 400;
            }
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
