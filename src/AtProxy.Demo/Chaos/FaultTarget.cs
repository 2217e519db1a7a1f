namespace AtProxy.Demo.Chaos;

/// <summary>Which process a fault kills.</summary>
internal enum FaultTarget
{
    /// <summary>The order service (the global transactions' starter and the orders database's resource manager).</summary>
    OrderService,

    /// <summary>The inventory service (the stock database's resource manager).</summary>
    InventoryService,

    /// <summary>The coordinator the services call first.</summary>
    Coordinator,
}
