namespace AtProxy.Demo.Scenario;

/// <summary>One SKU's numbers across the two databases after the run.</summary>
/// <param name="Sku">The article.</param>
/// <param name="Initial">Stock before the run.</param>
/// <param name="InStock">Stock now (inventory database).</param>
/// <param name="Sold">Units the inventory database says were sold.</param>
/// <param name="Orders">Units the orders database has orders for.</param>
internal sealed record SkuBalance(string Sku, int Initial, int InStock, int Sold, long Orders)
{
    /// <summary>No stock appeared or vanished: what is left plus what was sold is what there was.</summary>
    public bool StockBalances => InStock + Sold == Initial;

    /// <summary>Every unit sold has its order, and every order its deduction.</summary>
    public bool OrdersMatchSold => Orders == Sold;

    /// <summary>Both rules hold.</summary>
    public bool IsConsistent => StockBalances && OrdersMatchSold;
}
