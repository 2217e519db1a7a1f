using System.Net;
using System.Net.Sockets;
using AtProxy.Protocol.V1;
using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;
using Dapper;
using Grpc.Core;
using Npgsql;

namespace AtProxy.Cli.Tests.Support;

/// <summary>
/// Real servers for the CLI tests: an inventory database on the shared PostgreSQL, a coordinator
/// process that requires an admin token, an application whose proxied data source makes real
/// global transactions, and a runner for the built CLI pointed at that coordinator.
/// </summary>
public sealed class CliEnvironment : IAsyncLifetime
{
    public const string AdminToken = "cli-admin-secret";
    public const string OperatorName = "ops-alice";
    public const string ApplicationId = "cli-tests";
    public const string ResourceId = "inventory-db";

    private TestDatabase? _inventory;
    private NpgsqlDataSource? _inventorySource;
    private Admin.AdminClient? _admin;

    public CoordinatorProcess Coordinator { get; private set; } = null!;

    public AtProxyClient Client { get; private set; } = null!;

    public AtDbDataSource Inventory { get; private set; } = null!;

    public PostgresServer Server { get; private set; } = null!;

    /// <summary>Plain (unproxied) access, to change data behind AtProxy's back and check it.</summary>
    public string InventoryConnectionString => _inventory!.ConnectionString;

    public CliRunner Cli { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.SharedAsync();
        _inventory = await Server.CreateDatabaseAsync("cli_inventory");
        await using (var connection = new NpgsqlConnection(_inventory.ConnectionString))
        {
            await connection.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0, note text)");
        }

        var options = new CoordinatorProcessOptions();
        options.Settings["Coordinator:AdminToken"] = AdminToken;
        Coordinator = await CoordinatorProcess.StartAsync(options);
        _admin = new Admin.AdminClient(Coordinator.Channel);

        Client = AtProxyClient.Create(new AtProxyOptions { Coordinator = Coordinator.Address, ApplicationId = ApplicationId });
        _inventorySource = NpgsqlDataSource.Create(_inventory.ConnectionString);
        Inventory = Client.Wrap(_inventorySource, ResourceId);
        await WaitForResourceManagerAsync(ApplicationId, ResourceId);
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
            ["ATPROXY_ADMIN_TOKEN"] = AdminToken,
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

    public async Task<int> StockCountAsync(string sku)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        return await connection.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku });
    }

    /// <summary>Writes a row without AtProxy, as a person or another program would.</summary>
    public async Task SetStockBehindTheProxyAsync(string sku, int count)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        await connection.ExecuteAsync("UPDATE stock SET count = @count WHERE sku = @sku", new { sku, count });
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

    public Task<GetTransactionResponse> GetTransactionAsync(string xid) =>
        _admin!.GetTransactionAsync(new GetTransactionRequest { Xid = xid }, AdminHeaders()).ResponseAsync;

    public async Task<List<LockInfo>> LocksOfAsync(string xid) =>
        [.. (await _admin!.ListLocksAsync(new ListLocksRequest { Xid = xid, PageSize = 1000 }, AdminHeaders())).Locks];

    /// <summary>Waits until the coordinator reports <paramref name="status"/> (phase 2 runs in the background).</summary>
    public async Task<GetTransactionResponse> WaitForStatusAsync(string xid, GlobalStatus status, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var shown = await GetTransactionAsync(xid);
            if (shown.Transaction.Status == status)
            {
                return shown;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"{xid} is {shown.Transaction.Status}, not {status}, after waiting.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Phase 2 reaches a database only once the application's resource manager has subscribed for it.</summary>
    public async Task WaitForResourceManagerAsync(string applicationId, string resourceId)
    {
        var timeout = TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = await _admin!.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest(), AdminHeaders());
            if (status.ResourceManagers.Any(m => m.ApplicationId == applicationId && m.ResourceIds.Contains(resourceId)))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"The resource manager did not subscribe to the coordinator within {timeout.TotalSeconds} s.");
            }
            await Task.Delay(50);
        }
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

    public async Task DisposeAsync()
    {
        if (Client is not null)
        {
            await Client.DisposeAsync();
        }
        if (Coordinator is not null)
        {
            await Coordinator.DisposeAsync();
        }
        if (_inventorySource is not null)
        {
            await _inventorySource.DisposeAsync();
        }
        if (_inventory is not null)
        {
            await _inventory.DisposeAsync();
        }
    }

    private static Grpc.Core.Metadata AdminHeaders() => new() { { "authorization", $"Bearer {AdminToken}" } };
}
