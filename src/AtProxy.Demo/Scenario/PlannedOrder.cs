using AtProxy.Demo.Contracts;

namespace AtProxy.Demo.Scenario;

/// <summary>One order the demo will place, with the failure injected into it.</summary>
/// <param name="Number">0-based position in the run.</param>
/// <param name="Sku">The article.</param>
/// <param name="Fault">The injected failure.</param>
internal sealed record PlannedOrder(int Number, string Sku, Fault Fault)
{
    /// <summary>The request the order service gets.</summary>
    public PlaceOrderRequest ToRequest(int holdOpenMs = 0) => new(Sku, 1, Fault, holdOpenMs);

    /// <summary>A seeded plan: mostly plain orders, some with each kind of failure.</summary>
    public static IReadOnlyList<PlannedOrder> Plan(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(number =>
        {
            var roll = random.NextDouble();
            var fault = roll switch
            {
                < 0.08 => Fault.PaymentDeclined,
                < 0.14 => Fault.InventoryThrows,
                < 0.17 => Fault.SlowInventory,
                _ => Fault.None,
            };
            return new PlannedOrder(number, Catalog.Skus[random.Next(Catalog.Skus.Count)], fault);
        }).ToList();
    }
}
