using System.Net.Http.Json;
using AtProxy.Demo.Contracts;

namespace AtProxy.Demo.Scenario;

/// <summary>The demo's customer: places orders with the order service.</summary>
internal sealed class OrderServiceClient(Uri orderService) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = orderService, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Places one order; a failure of the order service itself is reported as <see cref="OrderOutcome.Failed"/>.</summary>
    public async Task<OrderResult> PlaceAsync(PlaceOrderRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.PostAsJsonAsync("/orders", request, cancellationToken);
            if (response.IsSuccessStatusCode && await response.Content.ReadFromJsonAsync<OrderResult>(cancellationToken) is { } result)
            {
                return result;
            }
            return new OrderResult(OrderOutcome.Failed, null, $"The order service answered {(int)response.StatusCode}.");
        }
        catch (HttpRequestException ex)
        {
            return new OrderResult(OrderOutcome.Failed, null, $"The order service could not be reached: {ex.Message}");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
