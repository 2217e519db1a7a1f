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
}
