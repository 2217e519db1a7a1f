namespace AtProxy.Demo.Services.Orders;

/// <summary>The payment provider declined the order's payment.</summary>
public sealed class PaymentDeclinedException(string message) : Exception(message);
