using AtProxy.Protocol.V1;
using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;
using Dapper;
using Grpc.Net.Client;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AtProxy.EntityFrameworkCore.Tests;

/// <summary>Two databases written through EF Core with UseAtProxy, and the real coordinator.</summary>
public sealed class ShopEnvironment : IAsyncLifetime
{
    private TestDatabase? _orders;
    private TestDatabase? _inventory;
    private GrpcChannel? _adminChannel;

    public CoordinatorProcess Coordinator { get; private set; } = null!;

    public AtProxyClient Client { get; private set; } = null!;

    public Admin.AdminClient Admin { get; private set; } = null!;

    public string OrdersConnectionString => _orders!.ConnectionString;

    public string InventoryConnectionString => _inventory!.ConnectionString;

    public ShopContext Orders() => new(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(OrdersConnectionString).UseAtProxy(Client, "ef-orders").Options);

    public ShopContext Inventory() => new(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(InventoryConnectionString).UseAtProxy(Client, "ef-inventory").Options);

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.SharedAsync();
        _orders = await server.CreateDatabaseAsync("ef_orders");
        _inventory = await server.CreateDatabaseAsync("ef_inventory");
        Coordinator = await CoordinatorProcess.StartAsync();
        Client = AtProxyClient.Create(new AtProxyOptions { Coordinator = Coordinator.Address, ApplicationId = "ef-tests" });
        // The schema goes through the proxied contexts: DDL passes through untouched.
        await using (var orders = Orders())
        {
            await orders.Database.EnsureCreatedAsync();
        }
        await using (var inventory = Inventory())
        {
            await inventory.Database.EnsureCreatedAsync();
        }
        if (!await Client.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException("The resource manager did not subscribe to the coordinator within 30 s.");
        }
        _adminChannel = GrpcChannel.ForAddress(Coordinator.Address);
        Admin = new Admin.AdminClient(_adminChannel);
    }

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

    public async Task WaitForQuiescenceAsync()
    {
        for (var i = 0; i < 100; i++)
        {
            await Client.Runtime.ResourceManager.UndoDeletion.DrainAsync(TimeSpan.FromMilliseconds(100));
            var locks = await Admin.ListLocksAsync(new ListLocksRequest { PageSize = 10 });
            if (locks.Locks.Count == 0 && await UndoRowsAsync(OrdersConnectionString) == 0 && await UndoRowsAsync(InventoryConnectionString) == 0)
            {
                return;
            }
            await Task.Delay(100);
        }
    }

    public static async Task<long> UndoRowsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('atproxy_undo_log') IS NOT NULL")
            ? await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log") : 0;
    }

    public async Task DisposeAsync()
    {
        if (Client is not null)
        {
            await Client.DisposeAsync();
        }
        _adminChannel?.Dispose();
        if (Coordinator is not null)
        {
            await Coordinator.DisposeAsync();
        }
        if (_orders is not null)
        {
            await _orders.DisposeAsync();
        }
        if (_inventory is not null)
        {
            await _inventory.DisposeAsync();
        }
    }
}
