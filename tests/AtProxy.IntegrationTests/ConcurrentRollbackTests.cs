using System.Collections.Concurrent;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// Rollbacks under concurrency, in a fixture of their own (nothing else leaves locks or undo rows
/// behind): the rows of every rolled-back branch come back exactly, whichever way the rows' check
/// went (in the load's round trip for the newest record, after it for the others).
/// </summary>
public class ConcurrentRollbackTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    /// <summary>
    /// Concurrent global transactions on hot rows, each with two branches on the inventory database (the
    /// second writes the row twice: two records, only the newest checked in the load's round trip) and an
    /// order; half roll back. Rows come back exactly: count + sold stays the initial stock, sold counts
    /// three per committed order, and no undo row or lock is left.
    /// </summary>
    [Fact]
    public async Task Concurrent_rollbacks_of_several_branches_and_records_on_hot_rows_keep_stock_and_orders_consistent()
    {
        string[] skus = ["rb-hot-1", "rb-hot-2", "rb-hot-3"];
        await env.SeedStockAsync(skus);
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;
        const int transactions = 300;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 104729);
            while (Interlocked.Increment(ref next) < transactions)
            {
                var sku = skus[random.Next(skus.Length)];
                var outcome = await OrderWithTwoInventoryBranchesAsync(sku, rollsBack: random.NextDouble() < 0.5);
                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() => Worker(w))));
        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));

        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"));
        var committed = outcomes.GetValueOrDefault("committed");
        Assert.Equal(transactions, outcomes.Values.Sum());
        Assert.True(committed > 0 && outcomes.GetValueOrDefault("rolled back") > 0, summary);
        await using (var check = new NpgsqlConnection(env.InventoryConnectionString))
        {
            var rows = (await check.QueryAsync<(string Sku, int Count, int Sold)>("SELECT sku, count, sold FROM stock WHERE sku = ANY (@skus)", new { skus })).ToList();
            Assert.Equal(skus.Length, rows.Count);
            Assert.All(rows, row => Assert.Equal(OrderInventoryEnvironment.InitialStock, row.Count + row.Sold));
            Assert.Equal(3 * committed, rows.Sum(row => row.Sold));
        }
        await using (var orders = new NpgsqlConnection(env.OrdersConnectionString))
        {
            Assert.Equal(committed, await orders.ExecuteScalarAsync<long>("SELECT count(*) FROM orders WHERE sku = ANY (@skus)", new { skus }));
        }
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
        Assert.Equal(0, await env.UnfinishedTransactionCountAsync());
    }

    private async Task<string> OrderWithTwoInventoryBranchesAsync(string sku, bool rollsBack)
    {
        try
        {
            await using var gtx = await env.Client.BeginAsync("two-inventory-branches", TimeSpan.FromSeconds(30));
            await using (var orders = await env.Orders.OpenConnectionAsync())
            {
                await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 3)", new { sku });
            }
            await using (var inventory = await env.Inventory.OpenConnectionAsync())
            {
                await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
            }
            await RollbackCheckInLoadTests.DeductTwiceAsync(env, sku);
            if (rollsBack)
            {
                await gtx.RollbackAsync();
                return "rolled back";
            }
            await gtx.CommitAsync();
            return "committed";
        }
        catch (GlobalLockConflictException)
        {
            return "rolled back on lock conflict";
        }
    }
}
