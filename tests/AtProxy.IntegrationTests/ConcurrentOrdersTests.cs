using System.Collections.Concurrent;
using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The seed problem under load: concurrent global transactions insert an order in one database and
/// take stock of a hot SKU in another; some roll back by exception, some by timeout. Whatever
/// happens, no order may exist without its stock deduction or the other way round.
/// </summary>
public class ConcurrentOrdersTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private const int Workers = 16;
    private const int Transactions = 2000;
    private static readonly string[] HotSkus = ["hot-1", "hot-2", "hot-3", "hot-4"];

    [Fact]
    public async Task Stock_and_orders_stay_consistent_under_concurrent_commits_rollbacks_and_timeouts()
    {
        await env.SeedStockAsync(HotSkus);
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 7919);
            while (Interlocked.Increment(ref next) < Transactions)
            {
                var sku = HotSkus[random.Next(HotSkus.Length)];
                var roll = random.NextDouble();
                var timesOut = roll < 0.05;
                var throwsAfterWrites = roll is >= 0.05 and < 0.30;
                outcomes.AddOrUpdate(await RunOneAsync(sku, timesOut, throwsAfterWrites), 1, (_, n) => n + 1);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))));
        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));

        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"));
        Assert.Equal(Transactions, outcomes.Values.Sum());
        Assert.True(outcomes.GetValueOrDefault("committed") > Transactions / 3, summary);
        Assert.True(outcomes.GetValueOrDefault("rolled back by exception") > 0, summary);

        await using var orders = new NpgsqlConnection(env.OrdersConnectionString);
        await using var inventory = new NpgsqlConnection(env.InventoryConnectionString);
        var ordered = (await orders.QueryAsync<(string Sku, long Count)>("SELECT sku, count(*) FROM orders GROUP BY sku")).ToDictionary(r => r.Sku, r => r.Count);
        var stock = (await inventory.QueryAsync<(string Sku, int Count, int Sold)>("SELECT sku, count, sold FROM stock")).ToDictionary(r => r.Sku);
        foreach (var sku in HotSkus)
        {
            Assert.Equal(OrderInventoryEnvironment.InitialStock, stock[sku].Count + stock[sku].Sold);
            Assert.Equal(ordered.GetValueOrDefault(sku), (long)stock[sku].Sold);
        }
        Assert.Equal(outcomes.GetValueOrDefault("committed"), ordered.Values.Sum());
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
        var open = await env.Admin.ListTransactionsAsync(new ListTransactionsRequest
        {
            Statuses = { GlobalStatus.Begin, GlobalStatus.Committing, GlobalStatus.CommitRetrying, GlobalStatus.Rollbacking, GlobalStatus.RollbackRetrying, GlobalStatus.TimeoutRollbacking, GlobalStatus.TimeoutRollbackRetrying, GlobalStatus.RollbackFailed, GlobalStatus.CommitFailed },
            PageSize = 10,
        });
        Assert.Empty(open.Transactions);
    }

    private async Task<string> RunOneAsync(string sku, bool timesOut, bool throwsAfterWrites)
    {
        try
        {
            await using var gtx = await env.Client.BeginAsync("place-order", timesOut ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(30));
            await using (var orders = await env.Orders.OpenConnectionAsync())
            {
                await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
            }
            await using (var inventory = await env.Inventory.OpenConnectionAsync())
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
}
