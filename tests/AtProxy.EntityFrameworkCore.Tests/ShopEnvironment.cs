using AtProxy.Testing;
using Dapper;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AtProxy.EntityFrameworkCore.Tests;

/// <summary>
/// The two databases, coordinator and client of <see cref="TwoDatabaseEnvironment"/>, written through
/// EF Core with UseAtProxy: the shop's model is the schema, created through the proxied contexts.
/// </summary>
public sealed class ShopEnvironment() : TwoDatabaseEnvironment("ef_", "ef-tests")
{
    public override string OrdersResourceId => "ef-orders";

    public override string InventoryResourceId => "ef-inventory";

    /// <summary>The databases are reached through EF Core's interceptor, not through wrapped data sources.</summary>
    protected override bool WrapsDataSources => false;

    public ShopContext OrdersContext() => new(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(OrdersConnectionString).UseAtProxy(Client, OrdersResourceId).Options);

    public ShopContext InventoryContext() => new(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(InventoryConnectionString).UseAtProxy(Client, InventoryResourceId).Options);

    protected override async Task StartedAsync()
    {
        // The schema goes through the proxied contexts: DDL passes through untouched.
        await using (var orders = OrdersContext())
        {
            await orders.Database.EnsureCreatedAsync();
        }
        await using (var inventory = InventoryContext())
        {
            await inventory.Database.EnsureCreatedAsync();
        }
        if (!await Client.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException("The resource manager did not subscribe to the coordinator within 30 s.");
        }
    }

    /// <summary>Undo rows of committed branches are deleted in the background: hurry that along before each look.</summary>
    protected override Task SettleAsync() => Client.Runtime.ResourceManager.UndoDeletion.DrainAsync(TimeSpan.FromMilliseconds(100));

    public async Task SeedProductsAsync(IEnumerable<string> skus, int stock)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        foreach (var sku in skus)
        {
            await connection.ExecuteAsync("""INSERT INTO "Products" ("Sku", "Stock") VALUES (@sku, @stock) ON CONFLICT ("Sku") DO UPDATE SET "Stock" = EXCLUDED."Stock" """, new { sku, stock });
        }
    }

    public static async Task<List<string>> SnapshotAsync(string connectionString, string table, string orderBy)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        // xmin changes on every write, restored or not: compare the data, not the row version.
        return (await connection.QueryAsync<string>($"SELECT (to_jsonb(t))::text FROM \"{table}\" t ORDER BY {orderBy}")).ToList();
    }
}
