using Dapper;
using Npgsql;

namespace AtProxy.Demo.Scenario;

/// <summary>The articles on sale, their starting stock, and the two databases' tables.</summary>
internal static class Catalog
{
    /// <summary>Every SKU starts with this much stock.</summary>
    public const int InitialStock = 500;

    /// <summary>The SKUs; few, so orders compete for the same stock rows.</summary>
    public static readonly IReadOnlyList<string> Skus = ["keyboard", "mouse", "monitor", "headset", "webcam", "dock", "laptop", "speaker"];

    /// <summary>The orders database's schema.</summary>
    public const string OrdersSchema =
        "CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, quantity int NOT NULL, created timestamptz NOT NULL DEFAULT now())";

    /// <summary>The inventory database's schema.</summary>
    public const string InventorySchema =
        "CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL CHECK (count >= 0), sold int NOT NULL DEFAULT 0)";

    /// <summary>Creates both tables in their (empty) databases and puts every SKU in stock.</summary>
    public static async Task CreateAsync(string ordersConnectionString, string inventoryConnectionString)
    {
        await using (var orders = new NpgsqlConnection(ordersConnectionString))
        {
            await orders.ExecuteAsync(OrdersSchema);
        }
        await using var inventory = new NpgsqlConnection(inventoryConnectionString);
        await inventory.ExecuteAsync(InventorySchema);
        await inventory.ExecuteAsync("INSERT INTO stock (sku, count) VALUES (@sku, @count)", Skus.Select(sku => new { sku, count = InitialStock }));
    }
}
