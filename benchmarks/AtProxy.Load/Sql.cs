namespace AtProxy.Load;

/// <summary>The two statements of the order/inventory transaction, the same in every mode.</summary>
internal static class Sql
{
    public const string InsertOrder = "INSERT INTO orders (sku, qty) VALUES (@sku, 1)";

    public const string TakeStock = "UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku";
}
