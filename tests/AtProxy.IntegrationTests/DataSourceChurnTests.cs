using System.Collections.Concurrent;
using AtProxy.Testing;
using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The seed problem's invariant while data sources come and go: concurrent global transactions
/// across two databases, each worker disposing its data sources and wrapping new ones every few
/// transactions (the same resource ids), some rolling back by exception or timeout.
/// </summary>
public class DataSourceChurnTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private const int Workers = 6;
    private const int Transactions = 360;
    private const int RecreateEvery = 5;
    private static readonly string[] Skus = ["churn-a", "churn-b", "churn-c"];

    [Fact]
    public async Task Stock_and_sold_stay_consistent_while_data_sources_are_disposed_and_recreated()
    {
        await env.SeedStockAsync(Skus);
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 7919);
            AtDbDataSource? orders = null;
            AtDbDataSource? inventory = null;
            try
            {
                for (var done = 0; Interlocked.Increment(ref next) < Transactions; done++)
                {
                    if (done % RecreateEvery == 0)
                    {
                        await DisposeAsync(orders, inventory, sync: random.Next(2) == 0);
                        orders = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), "churn-orders");
                        inventory = env.Client.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), "churn-inventory");
                    }
                    var roll = random.NextDouble();
                    var outcome = await env.PlaceOrderAsync(orders!, inventory!, Skus[random.Next(Skus.Length)], timesOut: roll < 0.05, throwsAfterWrites: roll is >= 0.05 and < 0.30);
                    outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                }
            }
            finally
            {
                await DisposeAsync(orders, inventory, sync: false);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))));
        // Every worker's data sources are disposed now: a timeout rollback still to come waits at the
        // coordinator for the next data source that wraps the ids.
        await using var lastOrders = env.Client.Wrap(NpgsqlDataSource.Create(env.OrdersConnectionString), "churn-orders");
        await using var lastInventory = env.Client.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), "churn-inventory");

        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"));
        await Eventually.TrueAsync(async () => await env.UnfinishedTransactionCountAsync() == 0 && (await env.LocksAsync()).Count == 0 &&
                await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString) == 0 &&
                await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString) == 0,
            TimeSpan.FromSeconds(60),
            async () => $"every transaction to end with no lock and no undo row left ({summary}; open: {await env.UnfinishedTransactionCountAsync()}, locks: {(await env.LocksAsync()).Count}, " +
                $"undo rows: {await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString)} + {await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString)})");

        Assert.Equal(Transactions, outcomes.Values.Sum());
        Assert.True(outcomes.GetValueOrDefault("committed") > Transactions / 3, summary);
        Assert.True(outcomes.GetValueOrDefault("rolled back by exception") > 0, summary);
        await env.AssertStockMatchesOrdersAsync(Skus, outcomes.GetValueOrDefault("committed"));
    }

    private static async Task DisposeAsync(AtDbDataSource? orders, AtDbDataSource? inventory, bool sync)
    {
        if (sync)
        {
            orders?.Dispose();
            inventory?.Dispose();
            return;
        }
        if (orders is not null)
        {
            await orders.DisposeAsync();
        }
        if (inventory is not null)
        {
            await inventory.DisposeAsync();
        }
    }
}
