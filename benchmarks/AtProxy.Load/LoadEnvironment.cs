using System.Diagnostics;
using AtProxy.Hosting;
using AtProxy.Load.Measurements;
using AtProxy.Load.Modes;
using AtProxy.Protocol.V1;
using Dapper;
using Grpc.Net.Client;
using Npgsql;

namespace AtProxy.Load;

/// <summary>
/// The servers every mode runs against in one run: one PostgreSQL with an orders and an inventory
/// database, the coordinator as a process with its durable embedded store, and the clients.
/// </summary>
internal sealed class LoadEnvironment : IAsyncDisposable
{
    public const int InitialStock = 10_000_000;

    private PostgresInstance _server = null!;
    private ScratchDatabase _orders = null!;
    private ScratchDatabase _inventory = null!;
    private NpgsqlDataSource _ordersPlain = null!;
    private NpgsqlDataSource _inventoryPlain = null!;
    private AtProxyClient _client = null!;
    private GrpcChannel _adminChannel = null!;
    private int? _postmasterPid;

    public CoordinatorServer Coordinator { get; private set; } = null!;

    public IReadOnlyDictionary<string, IOrderMode> Modes { get; private set; } = null!;

    /// <summary>How each mode's hold of the stock row's lock is measured (no entry: the mode holds none across databases).</summary>
    public IReadOnlyDictionary<string, ILockHoldMeasurement> LockHolds { get; private set; } = null!;

    /// <summary>How the database makes commits durable in this run (fsync and synchronous_commit), for the report.</summary>
    public string DatabaseDurability { get; private set; } = "";

    public static async Task<LoadEnvironment> StartAsync(int clients)
    {
        var environment = new LoadEnvironment();
        await environment.InitializeAsync(clients);
        return environment;
    }

    private async Task InitializeAsync(int clients)
    {
        _server = await PostgresInstance.StartAsync();
        DatabaseDurability = await DurableDatabase.MakeDurableAsync(_server);
        _postmasterPid = await PostmasterPidAsync(_server);
        _orders = await _server.CreateDatabaseAsync("load_orders");
        _inventory = await _server.CreateDatabaseAsync("load_inventory");
        await ExecuteAsync(_orders.ConnectionString, """
            CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, qty int NOT NULL, created timestamptz NOT NULL DEFAULT now());
            CREATE INDEX ON orders (sku);
            CREATE TABLE xa_decision_log (gid text PRIMARY KEY, decision text NOT NULL, at timestamptz NOT NULL DEFAULT now());
            """);
        await ExecuteAsync(_inventory.ConnectionString, "CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0)");

        Coordinator = await CoordinatorServer.StartAsync();
        _ordersPlain = NpgsqlDataSource.Create(WithPool(_orders.ConnectionString, clients));
        _inventoryPlain = NpgsqlDataSource.Create(WithPool(_inventory.ConnectionString, clients));
        _client = AtProxyClient.Create(new AtProxyOptions { Coordinator = Coordinator.Address, ApplicationId = "load-driver" });
        var ordersAt = _client.Wrap(NpgsqlDataSource.Create(WithPool(_orders.ConnectionString, clients)), "orders-db");
        var inventoryAt = _client.Wrap(NpgsqlDataSource.Create(WithPool(_inventory.ConnectionString, clients)), "inventory-db");
        await _client.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30));
        _adminChannel = GrpcChannel.ForAddress(Coordinator.Address);

        var xaHolds = new XaRowLockHolds();
        Modes = new Dictionary<string, IOrderMode>
        {
            ["local"] = new LocalMode(_ordersPlain, _inventoryPlain),
            ["at"] = new AtMode(_client, ordersAt, inventoryAt),
            ["xa"] = new XaMode(_ordersPlain, _inventoryPlain, xaHolds),
        };
        LockHolds = new Dictionary<string, ILockHoldMeasurement>
        {
            ["at"] = new CoordinatorLockHolds(Coordinator.ProcessId, "inventory-db"),
            ["xa"] = xaHolds,
        };
    }

    // A backend's parent is the postmaster; null when the server is not on this machine's /proc.
    private static async Task<int?> PostmasterPidAsync(PostgresInstance server)
    {
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        return ProcessCpu.ParentOf(await connection.ExecuteScalarAsync<int>("SELECT pg_backend_pid()"));
    }

    // Every mode's data sources alike: a pool for every client and Npgsql's automatic preparation,
    // as a service tuned for throughput runs them.
    private static string WithPool(string connectionString, int clients) =>
        new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = clients * 2 + 10, NoResetOnClose = true, MaxAutoPrepare = 32 }.ConnectionString;

    /// <summary>Puts every SKU back to its initial stock and removes all orders, so runs do not see each other.</summary>
    public async Task ResetAsync(int skus)
    {
        await ExecuteAsync(_orders.ConnectionString, "TRUNCATE orders; TRUNCATE xa_decision_log");
        await ExecuteAsync(_inventory.ConnectionString,
            $"TRUNCATE stock; INSERT INTO stock (sku, count) SELECT 'sku-' || lpad(i::text, 5, '0'), {InitialStock} FROM generate_series(0, {skus - 1}) i");
        await ExecuteAsync(_orders.ConnectionString, "VACUUM ANALYZE orders");
        await ExecuteAsync(_inventory.ConnectionString, "VACUUM ANALYZE stock");
    }

    /// <summary>The coordinator process's CPU time so far.</summary>
    public TimeSpan CoordinatorCpu()
    {
        using var process = Process.GetProcessById(Coordinator.ProcessId);
        return process.TotalProcessorTime;
    }

    /// <summary>The CPU time the load driver, the coordinator and the PostgreSQL cluster have used so far.</summary>
    public CpuSnapshot Cpu() =>
        new(ProcessCpu.OfThisProcess(), ProcessCpu.OfProcess(Coordinator.ProcessId), _postmasterPid is { } pid ? ProcessCpu.OfPostgresCluster(pid) : null);

    /// <summary>
    /// After a run: waits for phase 2 to finish, then checks the invariants. Returns the number of
    /// SKUs whose orders and stock disagree, undo rows left and locks left.
    /// </summary>
    public async Task<InvariantReport> CheckAsync(TimeSpan settle) => await CheckAsync(await SettleAsync(settle));

    /// <summary>Waits (at most <paramref name="settle"/>) until phase 2 has removed every undo row and lock; returns what is left.</summary>
    public async Task<(long UndoRows, long Locks)> SettleAsync(TimeSpan settle)
    {
        var deadline = DateTime.UtcNow + settle;
        long undo, locks;
        do
        {
            await _client.Runtime.ResourceManager.UndoDeletion.DrainAsync(TimeSpan.FromMilliseconds(200));
            undo = await UndoRowsAsync(_orders.ConnectionString) + await UndoRowsAsync(_inventory.ConnectionString);
            locks = (await new Admin.AdminClient(_adminChannel).ListLocksAsync(new ListLocksRequest { PageSize = 1000 })).Locks.Count;
            if (undo == 0 && locks == 0)
            {
                break;
            }
            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);
        return (undo, locks);
    }

    /// <summary>Checks the invariants after <see cref="SettleAsync"/>: SKUs whose orders and stock disagree, with what was left.</summary>
    public async Task<InvariantReport> CheckAsync((long UndoRows, long Locks) settled)
    {
        await using var orders = new NpgsqlConnection(_orders.ConnectionString);
        await using var inventory = new NpgsqlConnection(_inventory.ConnectionString);
        var ordered = (await orders.QueryAsync<(string Sku, long Count)>("SELECT sku, count(*) FROM orders GROUP BY sku")).ToDictionary(r => r.Sku, r => r.Count);
        var broken = 0;
        foreach (var (sku, count, sold) in await inventory.QueryAsync<(string, int, int)>("SELECT sku, count, sold FROM stock"))
        {
            if (count + sold != InitialStock || ordered.GetValueOrDefault(sku) != sold)
            {
                broken++;
            }
        }
        return new InvariantReport(broken, settled.UndoRows, settled.Locks);
    }

    private static async Task<long> UndoRowsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('atproxy_undo_log') IS NOT NULL")
            ? await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log") : 0;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.ExecuteAsync(sql);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        _adminChannel.Dispose();
        await Coordinator.DisposeAsync();
        await _ordersPlain.DisposeAsync();
        await _inventoryPlain.DisposeAsync();
        await _orders.DisposeAsync();
        await _inventory.DisposeAsync();
        await _server.DisposeAsync();
    }
}

/// <summary>What was left inconsistent after a run.</summary>
internal sealed record InvariantReport(int InconsistentSkus, long UndoRowsLeft, long LocksLeft)
{
    public bool Holds => InconsistentSkus == 0 && UndoRowsLeft == 0 && LocksLeft == 0;
}
