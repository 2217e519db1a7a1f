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
                outcomes.AddOrUpdate(await env.PlaceOrderAsync(env.Orders, env.Inventory, sku, timesOut, throwsAfterWrites), 1, (_, n) => n + 1);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))));
        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));

        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"));
        Assert.Equal(Transactions, outcomes.Values.Sum());
        Assert.True(outcomes.GetValueOrDefault("committed") > Transactions / 3, summary);
        Assert.True(outcomes.GetValueOrDefault("rolled back by exception") > 0, summary);

        await env.AssertStockMatchesOrdersAsync(HotSkus, outcomes.GetValueOrDefault("committed"));
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
        Assert.Equal(0, await env.UnfinishedTransactionCountAsync());
    }
}
