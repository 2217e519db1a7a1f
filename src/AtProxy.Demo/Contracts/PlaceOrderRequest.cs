namespace AtProxy.Demo.Contracts;

/// <summary>The body of the order service's <c>POST /orders</c>.</summary>
/// <param name="Sku">The article ordered.</param>
/// <param name="Quantity">How many.</param>
/// <param name="Fault">The failure to inject.</param>
/// <param name="HoldOpenMs">How long to keep the order open after its writes, before it commits (to show its global locks).</param>
public sealed record PlaceOrderRequest(string Sku, int Quantity, Fault Fault, int HoldOpenMs = 0);
