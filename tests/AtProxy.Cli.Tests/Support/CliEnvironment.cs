using System.Net;
using System.Net.Sockets;
using AtProxy.Testing;
using AtProxy.Testing.Coordinator;
using Dapper;
using Npgsql;

namespace AtProxy.Cli.Tests.Support;

/// <summary>
/// Real servers for the CLI tests (<see cref="TwoDatabaseEnvironment"/>): a coordinator process that
/// requires an admin token, an application whose proxied data sources make real global transactions
/// (the CLI tests use the inventory database), and a runner for the built CLI pointed at that coordinator.
/// </summary>
public sealed class CliEnvironment() : TwoDatabaseEnvironment("cli_", ClientApplicationId)
{
    public const string AdminTokenValue = "cli-admin-secret";
    public const string OperatorName = "ops-alice";
    public const string ClientApplicationId = "cli-tests";
    public const string ResourceId = "inventory-db";

    public override string InventoryResourceId => ResourceId;

    protected override string? AdminToken => AdminTokenValue;

    public CliRunner Cli { get; private set; } = null!;

    protected override Task CreateSchemaAsync(NpgsqlConnection orders, NpgsqlConnection inventory) =>
        inventory.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0, note text)");

    protected override void ConfigureCoordinator(CoordinatorProcessOptions options) => options.Settings["Coordinator:AdminToken"] = AdminTokenValue;

    protected override async Task StartedAsync()
    {
        // One committed global transaction up front: the proxy creates atproxy_undo_log on first use.
        await SeedStockAsync("warm-up", 1);
        await using (var gtx = await Client.BeginAsync("warm-up", TimeSpan.FromSeconds(30)))
        {
            await using (var connection = await Inventory.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("UPDATE stock SET count = 2 WHERE sku = 'warm-up'");
            }
            await gtx.CommitAsync();
        }

        Cli = new CliRunner(new Dictionary<string, string?>
        {
            ["ATPROXY_COORDINATOR"] = Coordinator.Address.ToString(),
            ["ATPROXY_ADMIN_TOKEN"] = AdminTokenValue,
            ["ATPROXY_OPERATOR"] = OperatorName,
            ["NO_COLOR"] = "1",
            ["COLUMNS"] = null,
            ["DOTNET_NOLOGO"] = "1",
        });
    }

    public async Task SeedStockAsync(string sku, int count)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        await connection.ExecuteAsync(
            "INSERT INTO stock (sku, count) VALUES (@sku, @count) ON CONFLICT (sku) DO UPDATE SET count = EXCLUDED.count, sold = 0, note = NULL", new { sku, count });
    }

    /// <summary>
    /// A global transaction stopped in ROLLBACK_FAILED by a dirty write: it took <paramref name="sku"/>
    /// from 100 to 90, someone set it to 12345 outside the transaction, and the rollback refused to
    /// overwrite that. Its lock stays held and its undo row stays in the database.
    /// </summary>
    public async Task<(string Xid, long BranchId)> CreateDirtyWriteAsync(string sku)
    {
        await SeedStockAsync(sku, 100);
        await using var gtx = await Client.BeginAsync("dirty-write", TimeSpan.FromSeconds(60));
        await using (var connection = await Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = count - 10, note = 'reserved' WHERE sku = @sku", new { sku });
        }
        await SetStockBehindTheProxyAsync(sku, 12345);
        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        var shown = await GetTransactionAsync(gtx.Xid);
        return (gtx.Xid, Assert.Single(shown.Transaction.Branches).BranchId);
    }

    /// <summary>A loopback port nothing listens on.</summary>
    public static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
