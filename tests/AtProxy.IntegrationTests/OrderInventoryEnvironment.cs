using AtProxy.Protocol.V1;
using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;
using Dapper;
using Grpc.Net.Client;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The seed problem on real servers: an orders database and an inventory database on the shared
/// PostgreSQL, a real coordinator process, and a client that wraps both databases.
/// </summary>
public class OrderInventoryEnvironment : IAsyncLifetime
{
    public const int InitialStock = 1_000_000;

    private TestDatabase? _orders;
    private TestDatabase? _inventory;
    private NpgsqlDataSource? _ordersSource;
    private NpgsqlDataSource? _inventorySource;

    public CoordinatorProcess Coordinator { get; private set; } = null!;

    public AtProxyClient Client { get; private set; } = null!;

    public AtDbDataSource Orders { get; private set; } = null!;

    public AtDbDataSource Inventory { get; private set; } = null!;

    /// <summary>Plain (unproxied) access, for setting up and checking data behind AtProxy's back.</summary>
    public string OrdersConnectionString => _orders!.ConnectionString;

    public string InventoryConnectionString => _inventory!.ConnectionString;

    public Admin.AdminClient Admin { get; private set; } = null!;

    private GrpcChannel? _adminChannel;

    protected virtual AtProxyOptions ConfigureOptions(AtProxyOptions options) => options;

    public virtual async Task InitializeAsync()
    {
        var server = await PostgresServer.SharedAsync();
        _orders = await server.CreateDatabaseAsync("orders");
        _inventory = await server.CreateDatabaseAsync("inventory");
        await using (var orders = new NpgsqlConnection(_orders.ConnectionString))
        {
            await orders.ExecuteAsync("""
                CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, qty int NOT NULL, note text, created timestamptz NOT NULL DEFAULT now());
                CREATE TABLE order_line (order_id bigint, line_no int, note text, PRIMARY KEY (order_id, line_no));
                CREATE TABLE no_key (a int, b text);
                CREATE VIEW order_view AS SELECT id, sku FROM orders;
                CREATE TABLE typed (
                    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    i2 int2, i4 int4, i8 int8, num numeric(12,3), txt text, vc varchar(20), flag bool,
                    u uuid, ts timestamp, tstz timestamptz, d date, b bytea, j jsonb, arr int[], tarr text[], f8 float8,
                    doubled int GENERATED ALWAYS AS (i4 * 2) STORED);
                CREATE TABLE uuid_keyed (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), note text);
                """);
        }
        await using (var inventory = new NpgsqlConnection(_inventory.ConnectionString))
        {
            await inventory.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0)");
        }

        Coordinator = await CoordinatorProcess.StartAsync();
        Client = AtProxyClient.Create(ConfigureOptions(new AtProxyOptions { Coordinator = Coordinator.Address, ApplicationId = "integration-tests" }));
        _ordersSource = NpgsqlDataSource.Create(_orders.ConnectionString);
        _inventorySource = NpgsqlDataSource.Create(_inventory.ConnectionString);
        Orders = Client.Wrap(_ordersSource, "orders-db");
        Inventory = Client.Wrap(_inventorySource, "inventory-db");
        if (!await Client.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException("The resource manager did not subscribe to the coordinator within 30 s.");
        }
        _adminChannel = GrpcChannel.ForAddress(Coordinator.Address);
        Admin = new Admin.AdminClient(_adminChannel);
    }

    public async Task SeedStockAsync(IEnumerable<string> skus, int count = InitialStock)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        foreach (var sku in skus)
        {
            await connection.ExecuteAsync("INSERT INTO stock (sku, count) VALUES (@sku, @count) ON CONFLICT (sku) DO UPDATE SET count = EXCLUDED.count, sold = 0", new { sku, count });
        }
    }

    /// <summary>Every row of a table as JSON text, in key order: a snapshot to compare exactly.</summary>
    public static async Task<List<string>> SnapshotAsync(string connectionString, string table, string orderBy)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return (await connection.QueryAsync<string>($"SELECT row_to_json(t)::text FROM {table} t ORDER BY {orderBy}")).ToList();
    }

    /// <summary>
    /// One order as the seed problem places it: an order row in one database, a stock deduction in the
    /// other, one global transaction; it may roll back by exception or time out on purpose. Returns how it ended.
    /// </summary>
    public async Task<string> PlaceOrderAsync(AtDbDataSource ordersSource, AtDbDataSource inventorySource, string sku, bool timesOut, bool throwsAfterWrites)
    {
        try
        {
            await using var gtx = await Client.BeginAsync("place-order", timesOut ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(30));
            await using (var orders = await ordersSource.OpenConnectionAsync())
            {
                await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
            }
            await using (var inventory = await inventorySource.OpenConnectionAsync())
            {
                var changed = await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku AND count > 0", new { sku });
                Assert.Equal(1, changed);
            }
            if (throwsAfterWrites)
            {
                throw new InvalidOperationException("payment declined");
            }
            if (timesOut)
            {
                // Outlives the 300 ms timeout on purpose: the coordinator rolls it back first.
                await Task.Delay(600);
            }
            await gtx.CommitAsync();
            return "committed";
        }
        catch (InvalidOperationException ex) when (ex.Message == "payment declined")
        {
            return "rolled back by exception";
        }
        catch (GlobalTransactionException)
        {
            return "rolled back by timeout";
        }
        catch (GlobalLockConflictException)
        {
            return "rolled back on lock conflict";
        }
    }

    /// <summary>The seed invariant per SKU: stock + sold = initial, ordered = sold; and as many orders as committed.</summary>
    public async Task AssertStockMatchesOrdersAsync(IReadOnlyCollection<string> skus, int committed)
    {
        await using var orders = new NpgsqlConnection(OrdersConnectionString);
        await using var inventory = new NpgsqlConnection(InventoryConnectionString);
        var ordered = (await orders.QueryAsync<(string Sku, long Count)>("SELECT sku, count(*) FROM orders WHERE sku = ANY(@skus) GROUP BY sku", new { skus = skus.ToArray() }))
            .ToDictionary(r => r.Sku, r => r.Count);
        var stock = (await inventory.QueryAsync<(string Sku, int Count, int Sold)>("SELECT sku, count, sold FROM stock WHERE sku = ANY(@skus)", new { skus = skus.ToArray() }))
            .ToDictionary(r => r.Sku);
        foreach (var sku in skus)
        {
            Assert.Equal(InitialStock, stock[sku].Count + stock[sku].Sold);
            Assert.Equal(ordered.GetValueOrDefault(sku), (long)stock[sku].Sold);
        }
        Assert.Equal(committed, ordered.Values.Sum());
    }

    /// <summary>Global transactions not ended well: still open, deciding, in phase 2, or failed.</summary>
    public async Task<int> UnfinishedTransactionCountAsync()
    {
        var open = await Admin.ListTransactionsAsync(new ListTransactionsRequest
        {
            Statuses =
            {
                GlobalStatus.Begin, GlobalStatus.Committing, GlobalStatus.CommitRetrying, GlobalStatus.AsyncCommitting, GlobalStatus.Rollbacking,
                GlobalStatus.RollbackRetrying, GlobalStatus.TimeoutRollbacking, GlobalStatus.TimeoutRollbackRetrying, GlobalStatus.RollbackFailed, GlobalStatus.CommitFailed,
            },
            PageSize = 10,
        });
        return open.Transactions.Count;
    }

    public static async Task<long> UndoRowCountAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        var exists = await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('atproxy_undo_log') IS NOT NULL");
        return exists ? await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log") : 0;
    }

    public async Task<List<LockInfo>> LocksAsync(string? xid = null)
    {
        var response = await Admin.ListLocksAsync(new ListLocksRequest { Xid = xid ?? "", PageSize = 1000 });
        return response.Locks.ToList();
    }

    /// <summary>Waits until the coordinator holds no lock and no undo rows remain (phase 2 runs in the background).</summary>
    public async Task WaitForQuiescenceAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            await Client.Runtime.ResourceManager.UndoDeletion.DrainAsync(TimeSpan.FromMilliseconds(200));
            if ((await LocksAsync()).Count == 0 &&
                await UndoRowCountAsync(OrdersConnectionString) == 0 &&
                await UndoRowCountAsync(InventoryConnectionString) == 0)
            {
                return;
            }
            await Task.Delay(100);
        }
    }

    public virtual async Task DisposeAsync()
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
        if (_ordersSource is not null)
        {
            await _ordersSource.DisposeAsync();
        }
        if (_inventorySource is not null)
        {
            await _inventorySource.DisposeAsync();
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
