using AtProxy.Testing;
using AtProxy.Protocol.V1;
using AtProxy.Testing.Postgres;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// One resource id wrapped by two processes over two different databases (a second deployment):
/// phase 2 runs only on the database the branch wrote, and is refused, with nothing written, by the
/// other.
/// </summary>
public class ResourceIdentityTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>, IAsyncLifetime
{
    private const string ResourceId = "tenant-db";
    private static readonly TimeSpan Settled = TimeSpan.FromSeconds(20);
    private TestDatabase _wrongDatabase = null!;
    private AtProxyClient _otherDeployment = null!;
    private AtDbDataSource _wrong = null!;

    public async Task InitializeAsync()
    {
        _wrongDatabase = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("other_deployment");
        await using (var setup = new NpgsqlConnection(_wrongDatabase.ConnectionString))
        {
            await setup.ExecuteAsync("CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, qty int NOT NULL, note text, created timestamptz NOT NULL DEFAULT now())");
        }
        _otherDeployment = AtProxyClient.Create(new AtProxyOptions { Coordinator = env.Coordinator.Address, ApplicationId = "other-deployment" });
        _wrong = _otherDeployment.Wrap(NpgsqlDataSource.Create(_wrongDatabase.ConnectionString), ResourceId);
        Assert.True(await _otherDeployment.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30)), "the other deployment to subscribe");
    }

    public async Task DisposeAsync()
    {
        await _wrong.DisposeAsync();
        await _otherDeployment.DisposeAsync();
        await _wrongDatabase.DisposeAsync();
    }

    [Fact]
    public async Task A_rollback_reaching_another_database_under_the_same_id_is_refused_and_completes_on_the_right_one()
    {
        const string sku = "identity-refused";
        await using (var seed = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await seed.ExecuteAsync("INSERT INTO orders (sku, qty, note) VALUES (@sku, 1, 'seed')", new { sku });
        }
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id");

        var right = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), ResourceId);
        var gtx = await env.Client.BeginAsync("refused", TimeSpan.FromSeconds(60));
        await using (var orders = await right.OpenConnectionAsync())
        {
            await orders.ExecuteAsync("UPDATE orders SET qty = 50 WHERE sku = @sku", new { sku });
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 2)", new { sku });
        }
        var afterPhaseOne = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id");
        // Only the other deployment serves the id now.
        await right.DisposeAsync();

        await gtx.RollbackAsync();
        Assert.NotEqual(GlobalTransactionStatus.Rollbacked, gtx.Status);
        var refused = await TransactionAsync(gtx.Xid);
        Assert.True(refused.Status is GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying, $"status {refused.Status}");
        // Rollback runs the branches in reverse order and stops at the first refusal.
        var refusal = Assert.Single(refused.Branches, b => b.LastError.Contains("a process wrapping the right database must run phase 2", StringComparison.Ordinal)).LastError;
        Assert.Contains($"database {_wrongDatabase.Name}", refusal);
        Assert.Equal(afterPhaseOne, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(_wrongDatabase.ConnectionString));
        Assert.NotEmpty(await env.LocksAsync(gtx.Xid));

        await using var rightAgain = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), ResourceId);
        await Eventually.TrueAsync(async () => (await TransactionAsync(gtx.Xid)).Status == GlobalStatus.Rollbacked, Settled,
            async () => $"the rollback to complete on the right database (status {(await TransactionAsync(gtx.Xid)).Status})");
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
        Assert.Empty(await env.LocksAsync(gtx.Xid));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(_wrongDatabase.ConnectionString));
        await gtx.DisposeAsync();
    }

    [Fact]
    public async Task With_both_databases_subscribed_every_rollback_reaches_the_right_one_at_once()
    {
        const string sku = "identity-both";
        await using var right = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), ResourceId);
        Assert.True(await env.Client.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30)), "the right deployment to subscribe");
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id");
        for (var i = 0; i < 6; i++)
        {
            await using var gtx = await env.Client.BeginAsync("both", TimeSpan.FromSeconds(30));
            await using (var orders = await right.OpenConnectionAsync())
            {
                await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, @i)", new { sku, i });
            }
            await gtx.RollbackAsync();
            Assert.Equal(GlobalTransactionStatus.Rollbacked, gtx.Status);
        }
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(_wrongDatabase.ConnectionString));
    }

    private async Task<GlobalTransactionInfo> TransactionAsync(string xid) =>
        (await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction;
}
