namespace AtProxy.Demo.Contracts;

/// <summary>The failure injected into one order.</summary>
public enum Fault
{
    /// <summary>Nothing goes wrong.</summary>
    None,

    /// <summary>The payment is declined after the inventory service deducted the stock.</summary>
    PaymentDeclined,

    /// <summary>The inventory service throws after it committed its stock deduction.</summary>
    InventoryThrows,

    /// <summary>The inventory service answers later than the order service waits.</summary>
    SlowInventory,
}
