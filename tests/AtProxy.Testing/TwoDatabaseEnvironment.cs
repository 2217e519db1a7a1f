using AtProxy.Protocol.V1;
using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;
using Grpc.Core.Interceptors;
using Npgsql;
using Xunit;

namespace AtProxy.Testing;

/// <summary>
/// The seed problem's setting on real servers: an orders database and an inventory database on the
/// shared throw-away PostgreSQL, a real coordinator process, and an AtProxy client whose data
/// sources wrap both databases. Test projects derive from it and add only what is theirs: the
/// schema (<see cref="CreateSchemaAsync"/>), an EF model, web hosts (<see cref="StartedAsync"/>).
/// Its checks are the invariants every test ends on: nothing left behind (no global lock, no undo
/// row) and, for the seed problem's tables, stock + sold = initial with one order per sale.
/// </summary>
public abstract class TwoDatabaseEnvironment : IAsyncLifetime
{
    private readonly string _databasePrefix;
    private TestDatabase? _orders;
    private TestDatabase? _inventory;
    private NpgsqlDataSource? _ordersSource;
    private NpgsqlDataSource? _inventorySource;
    private AtProxyClient? _client;
    private AtDbDataSource? _ordersProxy;
    private AtDbDataSource? _inventoryProxy;

    /// <param name="databasePrefix">Prefix of the two database names (<c>{prefix}orders</c>, <c>{prefix}inventory</c>).</param>
    /// <param name="applicationId">The application id of the client this environment creates.</param>
    protected TwoDatabaseEnvironment(string databasePrefix, string applicationId)
    {
        _databasePrefix = databasePrefix;
        ApplicationId = applicationId;
    }

    /// <summary>The application id the environment's client presents to the coordinator.</summary>
    public string ApplicationId { get; }

    /// <summary>The resource id the orders database is wrapped under.</summary>
    public virtual string OrdersResourceId => "orders-db";

    /// <summary>The resource id the inventory database is wrapped under.</summary>
    public virtual string InventoryResourceId => "inventory-db";

    /// <summary>
    /// Whether the environment's client wraps both databases as AtProxy data sources. Projects that
    /// reach the databases through their own front door (an EF interceptor, services with their
    /// own clients) turn it off.
    /// </summary>
    protected virtual bool WrapsDataSources => true;

    /// <summary>Whether the environment creates an AtProxy client in the test process at all.</summary>
    protected virtual bool CreatesClient => true;

    /// <summary>The admin token the coordinator requires, sent on every admin call; none by default.</summary>
    protected virtual string? AdminToken => null;

    public PostgresServer Server { get; private set; } = null!;

    public CoordinatorProcess Coordinator { get; private set; } = null!;

    /// <summary>The coordinator's admin API, with the admin token when one is required.</summary>
    public Admin.AdminClient Admin { get; private set; } = null!;

    public AtProxyClient Client => _client ?? throw new InvalidOperationException("This environment creates no client in the test process.");

    /// <summary>The orders database through AtProxy.</summary>
    public AtDbDataSource Orders => _ordersProxy ?? throw new InvalidOperationException("This environment does not wrap its databases as AtProxy data sources.");

    /// <summary>The inventory database through AtProxy.</summary>
    public AtDbDataSource Inventory => _inventoryProxy ?? throw new InvalidOperationException("This environment does not wrap its databases as AtProxy data sources.");

    /// <summary>Plain (unproxied) access, for setting up and checking data behind AtProxy's back.</summary>
    public string OrdersConnectionString => _orders!.ConnectionString;

    /// <inheritdoc cref="OrdersConnectionString"/>
    public string InventoryConnectionString => _inventory!.ConnectionString;

    /// <summary>Creates the tables, on plain connections, before the coordinator and the client start.</summary>
    protected virtual Task CreateSchemaAsync(NpgsqlConnection orders, NpgsqlConnection inventory) => Task.CompletedTask;

    /// <summary>Changes the coordinator's settings before it starts.</summary>
    protected virtual void ConfigureCoordinator(CoordinatorProcessOptions options)
    {
    }

    /// <summary>Changes the client's options before it is created.</summary>
    protected virtual AtProxyOptions ConfigureOptions(AtProxyOptions options) => options;

    /// <summary>Where the client logs; none by default.</summary>
    protected virtual Microsoft.Extensions.Logging.ILoggerFactory? ClientLoggerFactory => null;

    /// <summary>Runs once everything is up: what a project starts on top (web hosts, an EF schema, a first transaction).</summary>
    protected virtual Task StartedAsync() => Task.CompletedTask;

    /// <summary>Runs first on dispose, before the client and the coordinator stop: what <see cref="StartedAsync"/> started.</summary>
    protected virtual Task StoppingAsync() => Task.CompletedTask;

    /// <summary>
    /// Runs before each look for what is left behind: a project whose client deletes undo rows in
    /// the background may hurry that along here.
    /// </summary>
    protected virtual Task SettleAsync() => Task.CompletedTask;

    public virtual async Task InitializeAsync()
    {
        Server = await PostgresServer.SharedAsync();
        _orders = await Server.CreateDatabaseAsync(_databasePrefix + "orders");
        _inventory = await Server.CreateDatabaseAsync(_databasePrefix + "inventory");
        await using (var orders = new NpgsqlConnection(_orders.ConnectionString))
        await using (var inventory = new NpgsqlConnection(_inventory.ConnectionString))
        {
            await orders.OpenAsync();
            await inventory.OpenAsync();
            await CreateSchemaAsync(orders, inventory);
        }

        var coordinatorOptions = new CoordinatorProcessOptions();
        // Ended transactions stay listed for the whole run: a test checks how each one ended after its
        // load is over, which on a loaded machine can be later than the default minute of retention.
        coordinatorOptions.Settings["Coordinator:EndedRetentionMs"] = "600000";
        ConfigureCoordinator(coordinatorOptions);
        Coordinator = await CoordinatorProcess.StartAsync(coordinatorOptions);
        var token = AdminToken;
        Admin = token is null
            ? new Admin.AdminClient(Coordinator.Channel)
            : new Admin.AdminClient(Coordinator.Channel.Intercept(metadata =>
            {
                metadata.Add("authorization", $"Bearer {token}");
                return metadata;
            }));

        if (CreatesClient)
        {
            _client = AtProxyClient.Create(ConfigureOptions(new AtProxyOptions { Coordinator = Coordinator.Address, ApplicationId = ApplicationId }), ClientLoggerFactory);
            if (WrapsDataSources)
            {
                _ordersSource = NpgsqlDataSource.Create(_orders.ConnectionString);
                _inventorySource = NpgsqlDataSource.Create(_inventory.ConnectionString);
                _ordersProxy = _client.Wrap(_ordersSource, OrdersResourceId);
                _inventoryProxy = _client.Wrap(_inventorySource, InventoryResourceId);
                // Phase 2 reaches a database only once the client's resource manager has subscribed for it.
                await WaitForResourceManagerAsync(ApplicationId, OrdersResourceId);
                await WaitForResourceManagerAsync(ApplicationId, InventoryResourceId);
            }
        }
        await StartedAsync();
    }

    /// <summary>Waits until the coordinator lists a resource manager of <paramref name="applicationId"/> serving <paramref name="resourceId"/>.</summary>
    public Task WaitForResourceManagerAsync(string applicationId, string resourceId) =>
        Eventually.TrueAsync(
            async () => (await Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).ResourceManagers
                .Any(m => m.ApplicationId == applicationId && m.ResourceIds.Contains(resourceId)),
            TimeSpan.FromSeconds(30),
            $"a resource manager of '{applicationId}' to subscribe to the coordinator for '{resourceId}'");

    /// <summary>Inserts (or resets) stock rows in the seed problem's <c>stock (sku, count, sold)</c> table.</summary>
    public async Task SeedStockAsync(IEnumerable<string> skus, int count)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        await connection.OpenAsync();
        foreach (var sku in skus)
        {
            await using var command = new NpgsqlCommand("INSERT INTO stock (sku, count) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET count = EXCLUDED.count, sold = 0", connection);
            command.Parameters.Add(new() { Value = sku });
            command.Parameters.Add(new() { Value = count });
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>The <c>count</c> of one row of the seed problem's <c>stock</c> table, read without AtProxy.</summary>
    public async Task<int> StockCountAsync(string sku)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count FROM stock WHERE sku = $1", connection);
        command.Parameters.Add(new() { Value = sku });
        return (int)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Sets the <c>count</c> of one <c>stock</c> row without AtProxy, as a person or another program would.</summary>
    public async Task SetStockBehindTheProxyAsync(string sku, int count)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("UPDATE stock SET count = $1 WHERE sku = $2", connection);
        command.Parameters.Add(new() { Value = count });
        command.Parameters.Add(new() { Value = sku });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The seed invariant, for the seed problem's tables <c>orders (sku, ...)</c> and <c>stock (sku, count, sold)</c>:
    /// per SKU, stock + sold = <paramref name="initial"/> and one order per sale; and as many orders as committed.
    /// </summary>
    public async Task AssertStockMatchesOrdersAsync(IReadOnlyCollection<string> skus, int initial, int committed)
    {
        var ordered = new Dictionary<string, long>();
        await using (var orders = new NpgsqlConnection(OrdersConnectionString))
        {
            await orders.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT sku, count(*) FROM orders WHERE sku = ANY($1) GROUP BY sku", orders);
            command.Parameters.Add(new() { Value = skus.ToArray() });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ordered[reader.GetString(0)] = reader.GetInt64(1);
            }
        }
        var stock = new Dictionary<string, (int Count, int Sold)>();
        await using (var inventory = new NpgsqlConnection(InventoryConnectionString))
        {
            await inventory.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT sku, count, sold FROM stock WHERE sku = ANY($1)", inventory);
            command.Parameters.Add(new() { Value = skus.ToArray() });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                stock[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt32(2));
            }
        }
        foreach (var sku in skus)
        {
            if (!stock.TryGetValue(sku, out var row))
            {
                throw new ConditionFailedException($"There is no stock row for {sku}.");
            }
            if (row.Count + row.Sold != initial)
            {
                throw new ConditionFailedException($"{sku}: stock {row.Count} + sold {row.Sold} = {row.Count + row.Sold}, not the initial {initial}.");
            }
            if (ordered.GetValueOrDefault(sku) != row.Sold)
            {
                throw new ConditionFailedException($"{sku}: {ordered.GetValueOrDefault(sku)} orders, but {row.Sold} sold.");
            }
        }
        if (ordered.Values.Sum() != committed)
        {
            throw new ConditionFailedException($"{ordered.Values.Sum()} orders exist for {committed} committed transactions.");
        }
    }

    /// <summary>The global locks the coordinator holds, of one transaction or of all.</summary>
    public async Task<List<LockInfo>> LocksAsync(string? xid = null) =>
        [.. (await Admin.ListLocksAsync(new ListLocksRequest { Xid = xid ?? "", PageSize = 1000 })).Locks];

    public Task<GetTransactionResponse> GetTransactionAsync(string xid) =>
        Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid }).ResponseAsync;

    /// <summary>Waits until the coordinator reports <paramref name="status"/> for <paramref name="xid"/> (phase 2 runs in the background).</summary>
    public async Task<GetTransactionResponse> WaitForStatusAsync(string xid, GlobalStatus status, TimeSpan? timeout = null)
    {
        GetTransactionResponse? shown = null;
        await Eventually.TrueAsync(
            async () => (shown = await GetTransactionAsync(xid)).Transaction.Status == status,
            timeout ?? TimeSpan.FromSeconds(20),
            () => Task.FromResult($"{xid} to be {status} (it is {shown?.Transaction.Status})"));
        return shown!;
    }

    /// <summary>Global transactions not ended well: still open, deciding, in phase 2, or failed.</summary>
    public Task<int> UnfinishedTransactionCountAsync() => UnfinishedTransactionCountAsync(Admin);

    /// <summary>Global transactions not ended well, as the coordinator behind <paramref name="admin"/> lists them.</summary>
    public static async Task<int> UnfinishedTransactionCountAsync(Admin.AdminClient admin)
    {
        var open = await admin.ListTransactionsAsync(new ListTransactionsRequest
        {
            Statuses =
            {
                GlobalStatus.Begin, GlobalStatus.Committing, GlobalStatus.CommitRetrying, GlobalStatus.AsyncCommitting, GlobalStatus.Rollbacking,
                GlobalStatus.RollbackRetrying, GlobalStatus.TimeoutRollbacking, GlobalStatus.TimeoutRollbackRetrying, GlobalStatus.RollbackFailed, GlobalStatus.CommitFailed,
                GlobalStatus.CommitRetryTimeout, GlobalStatus.RollbackRetryTimeout,
            },
            PageSize = 10,
        });
        return open.Transactions.Count;
    }

    /// <summary>The rows of <c>atproxy_undo_log</c> in a database (0 while the table does not exist).</summary>
    public static async Task<long> UndoRowCountAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT to_regclass('atproxy_undo_log') IS NOT NULL", connection);
        if (!(bool)(await exists.ExecuteScalarAsync())!)
        {
            return 0;
        }
        await using var count = new NpgsqlCommand("SELECT count(*) FROM atproxy_undo_log", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Waits until phase 2 is over everywhere: the coordinator holds no global lock and neither
    /// database has an undo row. Fails naming what is still left behind when that does not come.
    /// </summary>
    public async Task WaitForQuiescenceAsync(TimeSpan? timeout = null)
    {
        var left = "";
        await Eventually.TrueAsync(
            async () =>
            {
                await SettleAsync();
                var locks = (await LocksAsync()).Count;
                var ordersUndo = await UndoRowCountAsync(OrdersConnectionString);
                var inventoryUndo = await UndoRowCountAsync(InventoryConnectionString);
                left = $"{locks} global locks, {ordersUndo} undo rows in the orders database, {inventoryUndo} in the inventory database";
                if (locks == 0 && ordersUndo == 0 && inventoryUndo == 0)
                {
                    return true;
                }
                left += await DescribeUndoRowsAsync();
                return false;
            },
            timeout ?? TimeSpan.FromSeconds(30),
            () => Task.FromResult($"no global lock and no undo row to be left behind (still {left})"));
    }

    /// <summary>The first undo rows left in either database, each with its transaction's status: what a failure message needs.</summary>
    private async Task<string> DescribeUndoRowsAsync()
    {
        var described = new List<string>();
        foreach (var (database, connectionString) in new[] { ("orders", OrdersConnectionString), ("inventory", InventoryConnectionString) })
        {
            if (await UndoRowCountAsync(connectionString) == 0)
            {
                continue;
            }
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT xid, branch_id, log_status FROM atproxy_undo_log ORDER BY log_created LIMIT 5", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<(string Xid, long Branch, int LogStatus)>();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2)));
            }
            foreach (var row in rows)
            {
                string status;
                try
                {
                    var shown = await GetTransactionAsync(row.Xid);
                    status = $"{shown.Transaction.Status}, branches {string.Join("/", shown.Transaction.Branches.Select(b => $"{b.BranchId}:{b.Status}"))}, " +
                        $"history {string.Join(" > ", shown.History.Select(h => $"{h.To} {h.Reason}".Trim()))}";
                }
                catch (Grpc.Core.RpcException ex)
                {
                    status = ex.StatusCode.ToString();
                }
                described.Add($"{database}: {row.Xid} branch {row.Branch} log_status {row.LogStatus} ({status})");
            }
        }
        return described.Count == 0 ? "" : "; " + string.Join("; ", described);
    }

    public virtual async Task DisposeAsync()
    {
        await StoppingAsync();
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
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
