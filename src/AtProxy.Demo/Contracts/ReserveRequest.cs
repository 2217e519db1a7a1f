namespace AtProxy.Demo.Contracts;

/// <summary>The body of the inventory service's <c>POST /reserve</c>.</summary>
/// <param name="Sku">The article.</param>
/// <param name="Quantity">How many to take from stock.</param>
/// <param name="Fault">The failure to inject on the inventory side.</param>
public sealed record ReserveRequest(string Sku, int Quantity, Fault Fault);
