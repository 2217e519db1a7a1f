using AtProxy.Demo.Contracts;
using AtProxy.Demo.Scenario;

namespace AtProxy.Demo.Chaos;

/// <summary>One order a run places: half on the hot SKUs, the rest spread; about a third end in a rollback.</summary>
internal sealed record ChaosOrder(string Sku, int Quantity, Fault Fault)
{
    public static ChaosOrder Random(Random random, IReadOnlyList<string> hotSkus)
    {
        var sku = random.NextDouble() < 0.5 ? hotSkus[random.Next(hotSkus.Count)] : Catalog.Skus[random.Next(Catalog.Skus.Count)];
        var fault = random.NextDouble() switch
        {
            < 0.18 => Fault.PaymentDeclined,  // the order service rolls back after the inventory's branch committed
            < 0.33 => Fault.InventoryThrows,  // the inventory service fails after its branch committed
            _ => Fault.None,
        };
        return new ChaosOrder(sku, random.Next(1, 4), fault);
    }

    public PlaceOrderRequest ToRequest() => new(Sku, Quantity, Fault);
}
