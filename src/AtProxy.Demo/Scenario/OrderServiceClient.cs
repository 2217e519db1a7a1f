using System.Net.Http.Json;
using AtProxy.Demo.Contracts;

namespace AtProxy.Demo.Scenario;

/// <summary>The demo's customer: places orders with the order service.</summary>
internal sealed class OrderServiceClient(Uri orderService) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = orderService, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Places one order; a failure of the order service itself is reported as <see cref="OrderOutcome.Failed"/>.</summary>
    /// <param name="request">The order.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <param name="whileRefused">
    /// Called when the order service refused the connection (nothing was sent: it is down), before the
    /// order is sent again; null reports the refusal as a failed order.
    /// </param>
    public async Task<OrderResult> PlaceAsync(PlaceOrderRequest request, CancellationToken cancellationToken, Func<Task>? whileRefused = null)
    {
        while (true)
        {
            try
            {
                return await PlaceOnceAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError && whileRefused is not null)
            {
                await whileRefused();
            }
            catch (HttpRequestException ex)
            {
                return new OrderResult(OrderOutcome.Failed, null, $"The order service could not be reached: {ex.Message}");
            }
        }
    }

    private async Task<OrderResult> PlaceOnceAsync(PlaceOrderRequest request, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("/orders", request, cancellationToken);
        if (response.IsSuccessStatusCode && await response.Content.ReadFromJsonAsync<OrderResult>(cancellationToken) is { } result)
        {
            return result;
        }
        return new OrderResult(OrderOutcome.Failed, null, $"The order service answered {(int)response.StatusCode}.");
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
