using System.Globalization;
using AtProxy.Demo.Hosting;
using AtProxy.Demo.Scenario;
using AtProxy.Demo.Services;
using AtProxy.Hosting;
using AtProxy.Protocol.V1;
using Npgsql;

namespace AtProxy.Demo.Chaos;

/// <summary>
/// What one run of the campaign runs on: fresh orders and inventory databases (and a store database
/// for the shared store) in the campaign's PostgreSQL cluster, the coordinators, and the demo's two
/// services. The fault's target is started with <see cref="CrashVariable"/> set. Disposing it stops
/// the processes and drops the run's databases.
/// </summary>
internal sealed class ChaosEnvironment : IAsyncDisposable
{
    /// <summary>The variable that arms a process's crash point (see docs/DESIGN.md).</summary>
    public const string CrashVariable = "ATPROXY_CRASH_AT";

    /// <summary>How many coordinators share the PostgreSQL store.</summary>
    private const int SharedStoreCoordinators = 3;

    /// <summary>
    /// Undo rows a killed service could not delete after a phase-2 commit are purged once this old:
    /// longer than any phase 1 of the run can stall (the transactions time out after
    /// <see cref="DemoTimings.OrderTimeout"/>), short enough to be gone within the run's wait.
    /// </summary>
    private static readonly TimeSpan UndoLogRetention = TimeSpan.FromSeconds(8);

    private readonly EphemeralPostgres _postgres;
    private readonly List<string> _databases = [];
    private readonly List<CoordinatorServer> _coordinators = [];
    private ServiceProcess? _orders;
    private ServiceProcess? _inventory;

    private ChaosEnvironment(EphemeralPostgres postgres) => _postgres = postgres;

    /// <summary>The coordinator the services call first (the coordinator faults' target).</summary>
    public CoordinatorServer Coordinator => _coordinators[0];

    /// <summary>Every process of the run, for the fault watcher.</summary>
    public List<ChaosProcess> Processes { get; } = [];

    /// <summary>The order service's address.</summary>
    public Uri OrderService => _orders!.Address;

    public string OrdersConnectionString { get; private set; } = "";

    public string InventoryConnectionString { get; private set; } = "";

    /// <summary>Starts everything for <paramref name="plan"/>; on failure stops what was started and throws.</summary>
    public static async Task<ChaosEnvironment> StartAsync(EphemeralPostgres postgres, RunPlan plan, CancellationToken cancellationToken)
    {
        var environment = new ChaosEnvironment(postgres);
        try
        {
            await environment.StartCoreAsync(plan, cancellationToken);
            return environment;
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        var suffix = plan.Seed.ToString(CultureInfo.InvariantCulture).Replace('-', 'm');
        OrdersConnectionString = await CreateDatabaseAsync($"orders_{suffix}");
        InventoryConnectionString = await CreateDatabaseAsync($"inventory_{suffix}");
        await Catalog.CreateAsync(OrdersConnectionString, InventoryConnectionString);

        var crash = plan.Fault.IsRandomKill
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal) { [CrashVariable] = $"{plan.Fault.Name}:{plan.Hit.ToString(CultureInfo.InvariantCulture)}" };
        IReadOnlyDictionary<string, string> CrashFor(FaultTarget target) =>
            target == plan.Target ? crash : new Dictionary<string, string>(StringComparer.Ordinal);

        var coordinatorOptions = plan.Store == StoreKind.Embedded
            ? [EmbeddedStore()]
            : Enumerable.Range(1, SharedStoreCoordinators).Select(i => SharedStore($"tc-{i}")).ToList();
        if (plan.Store == StoreKind.Postgres)
        {
            var store = await CreateDatabaseAsync($"store_{suffix}");
            foreach (var options in coordinatorOptions)
            {
                options.Settings["Coordinator:StoreConnection"] = store;
            }
        }
        foreach (var (name, value) in CrashFor(FaultTarget.Coordinator))
        {
            coordinatorOptions[0].Environment[name] = value;
        }
        // Started one after the other: the first creates the shared store's tables.
        for (var i = 0; i < coordinatorOptions.Count; i++)
        {
            var coordinator = await CoordinatorServer.StartAsync(coordinatorOptions[i], cancellationToken);
            _coordinators.Add(coordinator);
            Processes.Add(ChaosProcess.Of(coordinator, $"coordinator tc-{i + 1}", isTarget: i == 0, coordinatorOptions[i]));
        }

        var additional = _coordinators.Skip(1).Select(c => c.Address).ToList();
        var inventoryPort = FreePort.Find();
        var inventorySettings = new ServiceSettings(ServiceRole.Inventory, inventoryPort, InventoryConnectionString, Coordinator.Address, null)
        {
            AdditionalCoordinators = additional, UndoLogRetention = UndoLogRetention,
        };
        var ordersSettings = new ServiceSettings(ServiceRole.Orders, FreePort.Find(), OrdersConnectionString, Coordinator.Address, inventorySettings.Address)
        {
            AdditionalCoordinators = additional, UndoLogRetention = UndoLogRetention,
        };
        var inventory = ServiceProcess.StartAsync(inventorySettings, cancellationToken, CrashFor(FaultTarget.InventoryService));
        var orders = ServiceProcess.StartAsync(ordersSettings, cancellationToken, CrashFor(FaultTarget.OrderService));
        try
        {
            await Task.WhenAll(inventory, orders);
        }
        finally
        {
            _inventory = inventory.IsCompletedSuccessfully ? inventory.Result : null;
            _orders = orders.IsCompletedSuccessfully ? orders.Result : null;
        }
        Processes.Add(ChaosProcess.Of(_orders!, FaultTarget.OrderService));
        Processes.Add(ChaosProcess.Of(_inventory!, FaultTarget.InventoryService));
        await WaitForResourceManagersAsync(cancellationToken);
    }

    private static CoordinatorServerOptions EmbeddedStore()
    {
        var options = Common();
        options.Store = "embedded";
        // The smallest threshold the coordinator takes, so a run's load compacts the log a few times.
        options.Settings["Coordinator:CompactionThresholdBytes"] = "4096";
        return options;
    }

    private static CoordinatorServerOptions SharedStore(string nodeId)
    {
        var options = Common();
        options.Store = "postgres";
        options.Settings["Coordinator:NodeId"] = nodeId;
        // A dead instance's transactions are taken over once its lease lapses.
        options.Settings["Coordinator:LeaseMs"] = "2000";
        options.Settings["Coordinator:SweepIntervalMs"] = "100";
        return options;
    }

    private static CoordinatorServerOptions Common()
    {
        var options = new CoordinatorServerOptions();
        // Phase 2 of a branch whose service is down is retried soon after it is back.
        options.Settings["Coordinator:RetryInitialDelayMs"] = "200";
        options.Settings["Coordinator:RetryMaxDelayMs"] = "2000";
        // Ended transactions stay known for the checks, which resolve every XID the driver saw.
        options.Settings["Coordinator:EndedRetentionMs"] = "3600000";
        return options;
    }

    private async Task<string> CreateDatabaseAsync(string name)
    {
        await _postgres.CreateDatabaseAsync(name);
        _databases.Add(name);
        var builder = _postgres.ConnectionString(name);
        builder.MaxPoolSize = 40;
        return builder.ConnectionString;
    }

    private async Task WaitForResourceManagersAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var coordinator in _coordinators)
        {
            while (true)
            {
                var status = await coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest(), cancellationToken: cancellationToken);
                var connected = status.ResourceManagers.SelectMany(rm => rm.ResourceIds).ToHashSet(StringComparer.Ordinal);
                if (connected.Contains("orders-db") && connected.Contains("inventory-db"))
                {
                    break;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new DemoSetupException($"The services' phase-2 streams did not connect to {coordinator.Address} within 60 s.");
                }
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>Stops the services and the coordinators and drops the run's databases.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var service in new[] { _orders, _inventory })
        {
            if (service is not null)
            {
                await service.DisposeAsync();
            }
        }
        foreach (var coordinator in _coordinators)
        {
            await coordinator.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(_postgres.ConnectionString("postgres").ConnectionString);
        await admin.OpenAsync();
        foreach (var database in _databases)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
