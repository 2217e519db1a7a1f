using System.Net;
using System.Net.Http.Json;
using AtProxy.Demo.Contracts;

namespace AtProxy.Demo.Services.Orders;

/// <summary>The order service's client of the inventory service (with AtProxy, it sends the XID along).</summary>
public sealed class InventoryClient(IHttpClientFactory clients)
{
    /// <summary>The name of the configured <see cref="HttpClient"/>.</summary>
    public const string HttpClientName = "inventory";

    /// <summary>Takes the order's quantity from stock; throws <see cref="InventoryCallException"/> when the inventory service refuses or fails.</summary>
    public async Task ReserveAsync(PlaceOrderRequest order)
    {
        using var response = await SendAsync(new ReserveRequest(order.Sku, order.Quantity, order.Fault));
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        if (response.StatusCode == HttpStatusCode.Conflict && await response.Content.ReadFromJsonAsync<ReserveError>() is { } refusal)
        {
            var outcome = refusal.Reason == ReserveError.LockConflict ? OrderOutcome.LockConflict : OrderOutcome.OutOfStock;
            throw new InventoryCallException(outcome, refusal.Detail);
        }
        throw new InventoryCallException(OrderOutcome.InventoryFailed, $"The inventory service answered {(int)response.StatusCode} {response.ReasonPhrase}.");
    }

    private async Task<HttpResponseMessage> SendAsync(ReserveRequest request)
    {
        var deadline = DateTime.UtcNow + DemoTimings.OrderTimeout;
        while (true)
        {
            try
            {
                return await clients.CreateClient(HttpClientName).PostAsJsonAsync("/reserve", request);
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError && DateTime.UtcNow + DemoTimings.ReconnectInterval < deadline)
            {
                // Refused before anything was sent (the service is restarting): safe to try again.
                await Task.Delay(DemoTimings.ReconnectInterval);
            }
        }
    }
}
