namespace AtProxy.Demo.Services;

/// <summary>Which of the demo's two services a process runs.</summary>
public enum ServiceRole
{
    /// <summary>Takes orders into the orders database and calls the inventory service.</summary>
    Orders,

    /// <summary>Deducts stock in the inventory database.</summary>
    Inventory,
}
