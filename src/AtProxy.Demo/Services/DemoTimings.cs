namespace AtProxy.Demo.Services;

/// <summary>The demo's time budget for one order and the delays its faults inject.</summary>
public static class DemoTimings
{
    /// <summary>How long an order may take: the global transaction's timeout and the inventory call's.</summary>
    public static readonly TimeSpan OrderTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a slow inventory call takes before it deducts the stock: longer than <see cref="OrderTimeout"/>.</summary>
    public static readonly TimeSpan SlowInventoryDelay = TimeSpan.FromSeconds(6);

    /// <summary>How often the order service tries again to reach an inventory service that refuses connections.</summary>
    public static readonly TimeSpan ReconnectInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The inventory service's work after its commit (publishing a stock-changed event).</summary>
    public static TimeSpan PublishDelay() => TimeSpan.FromMilliseconds(Random.Shared.Next(5, 30));
}
