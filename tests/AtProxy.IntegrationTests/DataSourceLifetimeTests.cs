using System.Diagnostics;
using AtProxy.Testing;
using AtProxy.Protocol.V1;
using AtProxy.Testing.Postgres;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// Data sources that come and go: a console job that exits, one data source per tenant, pools
/// recycled. Disposing one lets go of its database cleanly, and phase-2 work for a resource id
/// with no live data source waits at the coordinator for the next one that wraps it.
/// </summary>
public class DataSourceLifetimeTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private static readonly TimeSpan Settled = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Two_hundred_data_sources_wrapped_used_and_disposed_in_turn_leave_no_undo_row_behind()
    {
        const string sku = "churn-200";
        await env.SeedStockAsync([sku]);
        var xids = new List<string>();
        var committed = 0;
        for (var i = 0; i < 200; i++)
        {
            // Every other one shares an id (a new data source for the same database); the rest are one-offs.
            var resourceId = i % 2 == 0 ? "churn-orders" : $"churn-orders-{i}";
            var dataSource = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), resourceId);
            var rollback = i % 3 == 0;
            await using (var gtx = await env.Client.BeginAsync("churn", TimeSpan.FromSeconds(30)))
            {
                xids.Add(gtx.Xid);
                await using (var orders = await dataSource.OpenConnectionAsync())
                {
                    await orders.ExecuteAsync("INSERT INTO orders (sku, qty, note) VALUES (@sku, 1, @note)", new { sku, note = resourceId });
                }
                await using (var inventory = await env.Inventory.OpenConnectionAsync())
                {
                    await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
                }
                if (rollback)
                {
                    await gtx.RollbackAsync();
                    Assert.True(gtx.Status.IsRollbackDecided(), $"transaction {i}: {gtx.Status}");
                }
                else
                {
                    await gtx.CommitAsync();
                    committed++;
                }
            }
            if (i % 4 < 2)
            {
                await dataSource.DisposeAsync();
            }
            else
            {
                dataSource.Dispose();
            }
        }

        await Eventually.TrueAsync(async () => await UndoRowsOfAsync(env.OrdersConnectionString, xids) == 0 && await UndoRowsOfAsync(env.InventoryConnectionString, xids) == 0,
            Settled, async () => $"the undo rows of the 200 transactions to be gone ({await UndoRowsOfAsync(env.OrdersConnectionString, xids)} in orders, {await UndoRowsOfAsync(env.InventoryConnectionString, xids)} in inventory)");
        await using var plainOrders = new NpgsqlConnection(env.OrdersConnectionString);
        await using var plainInventory = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(committed, await plainOrders.ExecuteScalarAsync<int>("SELECT count(*) FROM orders WHERE sku = @sku", new { sku }));
        Assert.Equal(committed, await plainInventory.ExecuteScalarAsync<int>("SELECT sold FROM stock WHERE sku = @sku", new { sku }));
        await Eventually.TrueAsync(async () => (await env.LocksAsync()).Count == 0, Settled, "the global locks to be released");
        await AssertAllEndedAsync(xids);
    }

    [Fact]
    public async Task A_committed_undo_row_on_a_live_data_source_is_deleted_promptly_while_dead_ones_fail()
    {
        // Databases whose data source the application disposed behind AtProxy's back: every delete on them fails.
        await using var deadDatabase = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("dead_tenant");
        await using (var setup = new NpgsqlConnection(deadDatabase.ConnectionString))
        {
            await setup.ExecuteAsync("CREATE TABLE tenant_orders (id bigserial PRIMARY KEY, note text)");
        }
        const int deadCount = 20;
        var dead = new List<(NpgsqlDataSource Plain, AtDbDataSource Wrapped)>();
        for (var i = 0; i < deadCount; i++)
        {
            var plain = NpgsqlDataSource.Create(deadDatabase.ConnectionString);
            dead.Add((plain, env.Client.Wrap(plain, $"dead-tenant-{i}")));
        }
        Assert.True(await env.Client.Runtime.ResourceManager.WaitConnectedAsync(TimeSpan.FromSeconds(30)), "the resource manager to subscribe");
        var deadXids = new List<string>();
        foreach (var (plain, wrapped) in dead)
        {
            await using var gtx = await env.Client.BeginAsync("dead-tenant", TimeSpan.FromSeconds(30));
            await using (var connection = await wrapped.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("INSERT INTO tenant_orders (note) VALUES ('x')");
            }
            await plain.DisposeAsync();
            await gtx.CommitAsync();
            deadXids.Add(gtx.Xid);
        }
        await Eventually.TrueAsync(() => Task.FromResult(env.Client.Runtime.ResourceManager.UndoDeletion.Pending >= deadCount), Settled,
            () => Task.FromResult($"the dead tenants' deletes to be queued (pending: {env.Client.Runtime.ResourceManager.UndoDeletion.Pending})"));

        string liveXid;
        await using (var gtx = await env.Client.BeginAsync("live", TimeSpan.FromSeconds(30)))
        {
            await using var orders = await env.Orders.OpenConnectionAsync();
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES ('live-next-to-dead', 1)");
            await gtx.CommitAsync();
            liveXid = gtx.Xid;
        }
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => await UndoRowsOfAsync(env.OrdersConnectionString, [liveXid]) == 0, TimeSpan.FromSeconds(3),
            $"the live data source's committed undo row to be deleted while {deadCount} dead resources fail their deletes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");

        // Disposing the dead wrappers gives up on their rows after the drain timeout; they stay for the retention purge.
        await Task.WhenAll(dead.Select(d => d.Wrapped.DisposeAsync().AsTask()));
        await Eventually.TrueAsync(() => Task.FromResult(env.Client.Runtime.ResourceManager.UndoDeletion.Pending == 0), Settled,
            () => Task.FromResult($"the dead resources' queued deletes to be dropped (pending: {env.Client.Runtime.ResourceManager.UndoDeletion.Pending})"));
        Assert.Equal(deadCount, await UndoRowsOfAsync(deadDatabase.ConnectionString, deadXids));
        Assert.DoesNotContain(env.Client.Runtime.Resources.Ids, id => id.StartsWith("dead-tenant-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rollback_whose_data_source_was_disposed_completes_when_the_id_is_wrapped_again()
    {
        const string resourceId = "rewrapped-orders";
        const string sku = "rewrapped";
        await using (var seed = new NpgsqlConnection(env.OrdersConnectionString))
        {
            await seed.ExecuteAsync("INSERT INTO orders (sku, qty, note) VALUES (@sku, 1, 'keep'), (@sku, 2, 'change'), (@sku, 3, 'delete')", new { sku });
        }
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id");

        var first = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), resourceId);
        var gtx = await env.Client.BeginAsync("rollback-later", TimeSpan.FromSeconds(60));
        await using (var orders = await first.OpenConnectionAsync())
        {
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 9)", new { sku });
            await orders.ExecuteAsync("UPDATE orders SET qty = 20 WHERE sku = @sku AND note = 'change'", new { sku });
            await orders.ExecuteAsync("DELETE FROM orders WHERE sku = @sku AND note = 'delete'", new { sku });
        }
        await first.DisposeAsync();
        Assert.DoesNotContain(resourceId, env.Client.Runtime.Resources.Ids);

        // Nobody serves the id now: the coordinator keeps the rollback, the data stays as phase 1 left it.
        await gtx.RollbackAsync();
        Assert.True(gtx.Status is GlobalTransactionStatus.Rollbacking or GlobalTransactionStatus.RollbackRetrying, $"status {gtx.Status}");
        Assert.True(await StatusAsync(gtx.Xid) is GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying, $"status {await StatusAsync(gtx.Xid)}");
        Assert.NotEmpty(await env.LocksAsync(gtx.Xid));
        Assert.NotEqual(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
        Assert.Equal(3, await UndoRowsOfAsync(env.OrdersConnectionString, [gtx.Xid]));

        await using var second = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), resourceId);
        await Eventually.TrueAsync(async () => await StatusAsync(gtx.Xid) == GlobalStatus.Rollbacked, Settled,
            async () => $"the rollback to complete once the id is wrapped again (status {await StatusAsync(gtx.Xid)})");
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
        Assert.Empty(await env.LocksAsync(gtx.Xid));
        Assert.Equal(0, await UndoRowsOfAsync(env.OrdersConnectionString, [gtx.Xid]));
        await gtx.DisposeAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_process_that_commits_and_exits_right_away_leaves_no_committed_undo_row(bool clientFirst)
    {
        var sku = $"exit-{clientFirst}";
        await env.SeedStockAsync([sku]);
        var xids = new List<string>();
        for (var run = 0; run < 5; run++)
        {
            // What a console job does: create, wrap, commit, dispose, exit; nobody waits for phase 2.
            var client = AtProxyClient.Create(new AtProxyOptions { Coordinator = env.Coordinator.Address, ApplicationId = "exiting-job" });
            var orders = client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), $"exit-orders-{clientFirst}");
            var inventory = client.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), $"exit-inventory-{clientFirst}");
            await using (var gtx = await client.BeginAsync("job", TimeSpan.FromSeconds(30)))
            {
                await using (var connection = await orders.OpenConnectionAsync())
                {
                    await connection.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
                }
                await using (var connection = await inventory.OpenConnectionAsync())
                {
                    await connection.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
                }
                await gtx.CommitAsync();
                xids.Add(gtx.Xid);
            }
            if (clientFirst)
            {
                await client.DisposeAsync();
                await orders.DisposeAsync();
                inventory.Dispose();
            }
            else
            {
                await orders.DisposeAsync();
                inventory.Dispose();
                await client.DisposeAsync();
            }

            // No waiting: the process is gone now.
            Assert.Equal(0, await UndoRowsOfAsync(env.OrdersConnectionString, xids));
            Assert.Equal(0, await UndoRowsOfAsync(env.InventoryConnectionString, xids));
        }
        await AssertAllEndedAsync(xids);
    }

    private static async Task<long> UndoRowsOfAsync(string connectionString, IReadOnlyCollection<string> xids)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        var exists = await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('atproxy_undo_log') IS NOT NULL");
        return exists ? await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = ANY(@xids)", new { xids = xids.ToArray() }) : 0;
    }

    private async Task<GlobalStatus> StatusAsync(string xid) =>
        (await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.Status;

    private async Task<string> DescribeAsync(string xid)
    {
        var transaction = (await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction;
        return $"status {transaction.Status}; " + string.Join("; ", transaction.Branches.Select(b => $"branch {b.BranchId} on {b.ResourceId}: {b.Status} {b.LastError}")) +
            $"{Environment.NewLine}coordinator output:{Environment.NewLine}{env.Coordinator.Output}";
    }

    private async Task AssertAllEndedAsync(IEnumerable<string> xids)
    {
        foreach (var xid in xids)
        {
            await Eventually.TrueAsync(async () => await StatusAsync(xid) is GlobalStatus.Committed or GlobalStatus.Rollbacked, Settled,
                async () => $"{xid} to end ({await DescribeAsync(xid)})");
        }
    }
}
