using AtProxy.Demo.Contracts;

namespace AtProxy.Demo.Services.Orders;

/// <summary>The inventory service refused or failed a reservation.</summary>
public sealed class InventoryCallException(OrderOutcome outcome, string message) : Exception(message)
{
    /// <summary>What the refusal means for the order.</summary>
    public OrderOutcome Outcome { get; } = outcome;
}
