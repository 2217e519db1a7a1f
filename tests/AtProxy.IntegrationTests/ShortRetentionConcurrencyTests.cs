using System.Collections.Concurrent;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// A client that keeps committed images for 500 ms and purges rows of finished transactions older
/// than 3 s, looking every 50 ms: the purge runs all the time while transactions commit and roll back.
/// </summary>
public sealed class ShortRetentionEnvironment : OrderInventoryEnvironment
{
    protected override AtProxyOptions ConfigureOptions(AtProxyOptions options)
    {
        options.UndoLogRetention = TimeSpan.FromSeconds(3);
        options.CommittedUndoRetention = TimeSpan.FromMilliseconds(500);
        options.UndoPurgeInterval = TimeSpan.FromMilliseconds(50);
        options.UndoPurgeBatchSize = 20;
        return options;
    }
}

/// <summary>
/// Concurrent global transactions across two databases, commits, rollbacks and timeouts, with a
/// purge that never rests: nothing is lost (stock + sold = initial, orders = sold) and, once phase 2
/// and the retentions are over, no undo row of a finished transaction is left.
/// </summary>
public class ShortRetentionConcurrencyTests(ShortRetentionEnvironment env) : IClassFixture<ShortRetentionEnvironment>
{
    private const int Workers = 8;
    private const int Transactions = 400;
    private static readonly string[] Skus = ["retain-1", "retain-2", "retain-3"];

    [Fact]
    public async Task Concurrent_commits_and_rollbacks_under_a_constant_purge_lose_nothing_and_leave_no_undo_rows()
    {
        await env.SeedStockAsync(Skus);
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 4099);
            while (Interlocked.Increment(ref next) < Transactions)
            {
                var sku = Skus[random.Next(Skus.Length)];
                var roll = random.NextDouble();
                outcomes.AddOrUpdate(await env.PlaceOrderAsync(env.Orders, env.Inventory, sku, timesOut: roll < 0.05, throwsAfterWrites: roll is >= 0.05 and < 0.35), 1, (_, n) => n + 1);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))));
        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"));
        Assert.True(outcomes.GetValueOrDefault("committed") > 0 && outcomes.GetValueOrDefault("rolled back by exception") > 0, summary);

        // Committed images are kept 500 ms, markers 3 s: then the purge must have taken every row.
        await Eventually.TrueAsync(async () =>
                (await env.LocksAsync()).Count == 0 &&
                await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString) == 0 &&
                await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString) == 0,
            TimeSpan.FromSeconds(60), $"no undo row or lock of a finished transaction to remain ({summary})");

        await env.AssertStockMatchesOrdersAsync(Skus, outcomes.GetValueOrDefault("committed"));
        Assert.True(env.Client.Runtime.ResourceManager.UndoPurge.PurgedRows > 0, $"the purge deleted nothing ({summary})");
        Assert.Equal(0, await env.UnfinishedTransactionCountAsync());
    }
}
