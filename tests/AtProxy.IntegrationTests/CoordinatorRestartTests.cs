using System.Collections.Concurrent;
using System.Diagnostics;
using AtProxy.Testing;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The coordinator dies under load (SIGKILL) and comes back on the same address and data directory
/// a moment later. The application's calls wait for it within their timeout instead of failing, so
/// the outage is invisible to nearly every global transaction, and the data stays consistent.
/// </summary>
public class CoordinatorRestartTests(CoordinatorRestartTests.Environment env) : IClassFixture<CoordinatorRestartTests.Environment>
{
    private const int Workers = 8;
    private const int Transactions = 1200;
    private static readonly string[] Skus = Enumerable.Range(1, 40).Select(i => $"restart-{i}").ToArray();

    /// <summary>Its own coordinator and databases: the test kills that coordinator.</summary>
    public sealed class Environment : OrderInventoryEnvironment
    {
    }

    [Fact]
    public async Task A_coordinator_killed_and_restarted_under_load_fails_almost_no_global_transaction()
    {
        await env.SeedStockAsync(Skus);
        var outcomes = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<Exception>();
        var next = -1;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 104729);
            while (Interlocked.Increment(ref next) < Transactions)
            {
                var sku = Skus[random.Next(Skus.Length)];
                var throwsAfterWrites = random.NextDouble() < 0.2;
                try
                {
                    var outcome = await env.PlaceOrderAsync(env.Orders, env.Inventory, sku, timesOut: false, throwsAfterWrites);
                    outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                }
            }
        }

        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))).ToList();
        await Eventually.TrueAsync(() => Volatile.Read(ref next) >= Transactions / 2, TimeSpan.FromSeconds(120), "half the load before the crash");

        env.Coordinator.Kill();
        var down = Stopwatch.StartNew();
        await env.Coordinator.RestartAsync();
        var restartedAfter = down.Elapsed;

        // An existing client's first call after the restart goes through.
        await using (var probe = await env.Client.BeginAsync("after-restart", TimeSpan.FromSeconds(30)))
        {
            await probe.CommitAsync();
        }

        await Task.WhenAll(workers);
        var summary = $"restarted after {restartedAfter.TotalSeconds:F1} s; " +
            string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}")) +
            $", failed={failures.Count}: " + string.Join(" | ", failures.Take(5).Select(f => $"{f.GetType().Name}: {f.Message}"));
        // Every transaction finished first, so the data can be checked before what is left of the undo logs.
        await Eventually.TrueAsync(async () => await env.UnfinishedTransactionCountAsync() == 0 && (await env.LocksAsync()).Count == 0,
            TimeSpan.FromSeconds(90), () => Task.FromResult($"every global transaction to finish. After: {summary}"));
        Assert.Equal(Transactions, outcomes.Values.Sum() + failures.Count);
        Assert.True(failures.Count <= Transactions / 100, summary);
        Assert.True(outcomes.GetValueOrDefault("committed") > Transactions / 2, summary);

        // A transaction whose outcome the application was not told counts as committed when it was.
        var committedUnbeknown = 0;
        foreach (var unknown in failures.OfType<GlobalTransactionOutcomeUnknownException>())
        {
            if ((await env.GetTransactionAsync(unknown.Xid)).Transaction.Status == Protocol.V1.GlobalStatus.Committed)
            {
                committedUnbeknown++;
            }
        }
        await env.AssertStockMatchesOrdersAsync(Skus, outcomes.GetValueOrDefault("committed") + committedUnbeknown);

        try
        {
            await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));
        }
        catch (ConditionFailedException ex)
        {
            throw new ConditionFailedException($"{ex.Message} After: {summary}");
        }
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
        Assert.Equal(0, await env.UnfinishedTransactionCountAsync());
    }
}
