using System.Net.Http.Json;
using AtProxy.Demo.Hosting;
using AtProxy.Demo.Services;
using AtProxy.Hosting;
using AtProxy.Protocol.V1;
using Npgsql;
using Spectre.Console;

namespace AtProxy.Demo.Scenario;

/// <summary>
/// Everything the demo runs on: a throw-away PostgreSQL with the orders and inventory databases,
/// the coordinator (with AtProxy only) and the two services, each a process of its own. Disposing
/// it stops all of them and deletes the run's directory.
/// </summary>
internal sealed class DemoEnvironment : IAsyncDisposable
{
    /// <summary>What the run's temporary directory is called, followed by the demo's process id.</summary>
    private const string DirectoryPrefix = "atproxy-demo-";

    /// <summary>The PostgreSQL cluster's directory inside the run's directory.</summary>
    private const string ClusterDirectory = "pg";

    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _directory;
    private EphemeralPostgres? _postgres;

    private DemoEnvironment(string directory) => _directory = directory;

    /// <summary>The coordinator; null without AtProxy.</summary>
    public CoordinatorServer? Coordinator { get; private set; }

    public ServiceProcess Inventory { get; private set; } = null!;

    public ServiceProcess Orders { get; private set; } = null!;

    /// <summary>A plain (unproxied) connection string of the orders database, for checks.</summary>
    public string OrdersConnectionString { get; private set; } = "";

    /// <summary>A plain (unproxied) connection string of the inventory database, for checks.</summary>
    public string InventoryConnectionString { get; private set; } = "";

    /// <summary>Starts everything, reporting each step; on failure stops what was started and throws.</summary>
    public static async Task<DemoEnvironment> StartAsync(bool useAtProxy, CancellationToken cancellationToken)
    {
        foreach (var abandoned in RunDirectory.Abandoned(DirectoryPrefix))
        {
            // The cluster is in a subdirectory of the run's directory, not in the directory itself. The
            // coordinator and the services stopped by themselves when their demo died (--parent-pid).
            await EphemeralPostgres.RemoveAbandonedAsync(Path.Combine(abandoned, ClusterDirectory));
            RunDirectory.Delete(abandoned);
        }
        var environment = new DemoEnvironment(RunDirectory.Create(DirectoryPrefix, 8));
        try
        {
            await environment.StartCoreAsync(useAtProxy, cancellationToken);
            return environment;
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(bool useAtProxy, CancellationToken cancellationToken)
    {
        _postgres = await Step("PostgreSQL", () => SetUpAsync(() => EphemeralPostgres.StartAsync(Path.Combine(_directory, ClusterDirectory), PostgresSettings)),
            pg => $"throw-away cluster on 127.0.0.1:{pg.Port}");
        await Step("databases", async () =>
        {
            await _postgres.CreateDatabaseAsync("orders");
            await _postgres.CreateDatabaseAsync("inventory");
            OrdersConnectionString = ConnectionString(_postgres, "orders");
            InventoryConnectionString = ConnectionString(_postgres, "inventory");
            await Catalog.CreateAsync(OrdersConnectionString, InventoryConnectionString);
            return true;
        }, _ => $"orders (table orders), inventory (table stock: {Catalog.Skus.Count} SKUs x {Catalog.InitialStock})");

        if (useAtProxy)
        {
            Coordinator = await Step("coordinator", () => SetUpAsync(() => CoordinatorServer.StartAsync(CoordinatorOptions(Path.Combine(_directory, "coordinator")), cancellationToken)),
                c => $"{c.Address} (embedded store)");
        }
        var inventorySettings = new ServiceSettings(ServiceRole.Inventory, FreePort.Find(), InventoryConnectionString, Coordinator?.Address, null);
        Inventory = await Step("inventory service", () => ServiceProcess.StartAsync(inventorySettings, cancellationToken),
            s => $"{s.Address} (pid {s.ProcessId})");
        var ordersSettings = new ServiceSettings(ServiceRole.Orders, FreePort.Find(), OrdersConnectionString, Coordinator?.Address, Inventory.Address);
        Orders = await Step("order service", () => ServiceProcess.StartAsync(ordersSettings, cancellationToken),
            s => $"{s.Address} (pid {s.ProcessId})");
        if (Coordinator is not null)
        {
            await Step("phase-2 streams", () => WaitForResourceManagersAsync(cancellationToken), _ => "orders-db and inventory-db connected to the coordinator");
        }
    }

    /// <summary>Reservations the inventory service is still working on (0 when it cannot be asked).</summary>
    public async Task<int> InventoryRequestsInFlightAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await Probe.GetFromJsonAsync<int>(new Uri(Inventory.Address, "/in-flight"), cancellationToken);
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private async Task<bool> WaitForResourceManagersAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await Coordinator!.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest(), cancellationToken: cancellationToken);
            var connected = status.ResourceManagers.SelectMany(rm => rm.ResourceIds).ToHashSet(StringComparer.Ordinal);
            if (connected.Contains("orders-db") && connected.Contains("inventory-db"))
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new DemoSetupException("The services' phase-2 streams did not connect to the coordinator within 30 s.");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    private static IReadOnlyDictionary<string, string> PostgresSettings { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["shared_buffers"] = "64MB",
    };

    private static string ConnectionString(EphemeralPostgres postgres, string database)
    {
        var builder = postgres.ConnectionString(database);
        builder.MaxPoolSize = 60;
        return builder.ConnectionString;
    }

    /// <summary>The coordinator with its embedded store in the run's directory.</summary>
    private static CoordinatorServerOptions CoordinatorOptions(string dataDirectory)
    {
        var options = new CoordinatorServerOptions { Store = "embedded", DataDirectory = dataDirectory };
        // Phase 2 of a branch whose service is down is retried soon after it is back.
        options.Settings["Coordinator:RetryInitialDelayMs"] = "200";
        options.Settings["Coordinator:RetryMaxDelayMs"] = "2000";
        return options;
    }

    /// <summary>
    /// A server that could not be set up (no PostgreSQL programs, the coordinator not built or not
    /// starting) is reported as the demo's setup failure, with the hosting library's message.
    /// </summary>
    private static async Task<T> SetUpAsync<T>(Func<Task<T>> start)
    {
        try
        {
            return await start();
        }
        catch (Exception ex) when (ex is InvalidOperationException or FileNotFoundException)
        {
            throw new DemoSetupException(ex.Message);
        }
    }

    private static async Task<T> Step<T>(string what, Func<Task<T>> start, Func<T, string> describe)
    {
        var started = await start();
        AnsiConsole.MarkupLine($"  [green]started[/] {what,-18} {Markup.Escape(describe(started))}");
        return started;
    }

    /// <summary>Stops the services, the coordinator and PostgreSQL, and deletes the run's directory.</summary>
    public async ValueTask DisposeAsync()
    {
        // Services first: they must not retry against a coordinator or database that is going away.
        foreach (var service in new[] { Orders, Inventory })
        {
            if (service is not null)
            {
                await service.DisposeAsync();
            }
        }
        if (Coordinator is not null)
        {
            await Coordinator.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
        RunDirectory.Delete(_directory);
    }
}
