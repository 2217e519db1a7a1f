using System.Net.Http.Json;
using System.Text.Json;
using AtProxy.Coordinator.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Alerts;

/// <summary>
/// POSTs alerts as JSON to <see cref="CoordinatorOptions.AlertWebhookUrl"/>. A delivery that fails
/// (no answer, an error status) is tried again after 1, 2 and 4 seconds; one that still fails is
/// logged and given up. At most a few deliveries run at once.
/// </summary>
internal sealed class AlertWebhook(IHttpClientFactory clients, IOptions<CoordinatorOptions> options, ILogger<AlertWebhook> logger)
{
    /// <summary>The named <see cref="HttpClient"/> deliveries use.</summary>
    public const string ClientName = "atproxy-alert-webhook";

    /// <summary>How long one delivery attempt may take.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan[] RetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Uri? _url = string.IsNullOrEmpty(options.Value.AlertWebhookUrl) ? null : new Uri(options.Value.AlertWebhookUrl);
    private readonly string _coordinator = options.Value.NodeId;
    private readonly SemaphoreSlim _concurrent = new(4, 4);

    public bool IsConfigured => _url is not null;

    public async Task DeliverAsync(CoordinatorAlert alert, CancellationToken stopping)
    {
        if (_url is null)
        {
            return;
        }
        var payload = AlertPayload.Of(alert, _coordinator);
        var kind = payload.Kind;
        try
        {
            await _concurrent.WaitAsync(stopping);
            try
            {
                var client = clients.CreateClient(ClientName);
                for (var attempt = 1; ; attempt++)
                {
                    var failure = await TryPostAsync(client, payload, stopping);
                    if (failure is null)
                    {
                        return;
                    }
                    if (attempt > RetryDelays.Length)
                    {
                        Log.AlertDeliveryFailed(logger, kind, alert.Xid, _url, attempt, failure);
                        return;
                    }
                    Log.AlertDeliveryRetried(logger, kind, alert.Xid, _url, attempt, failure);
                    await Task.Delay(RetryDelays[attempt - 1], stopping);
                }
            }
            finally
            {
                _concurrent.Release();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: the alert stays in the log and, while it holds, in the active alerts after the restart.
        }
    }

    // Null when the endpoint accepted it; otherwise why not.
    private async Task<string?> TryPostAsync(HttpClient client, AlertPayload payload, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(AttemptTimeout);
        try
        {
            using var response = await client.PostAsJsonAsync(_url, payload, Json, timeout.Token);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return $"no answer within {AttemptTimeout.TotalSeconds:0} s";
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
    }
}
