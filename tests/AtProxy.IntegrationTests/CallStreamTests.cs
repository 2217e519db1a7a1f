using System.Collections.Concurrent;
using AtProxy.Testing;
using AtProxy.Testing.Coordinator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The application's calls to the coordinator go batched over one stream when the coordinator
/// serves it, and as unary calls when it does not (an older coordinator); either way concurrent
/// global transactions keep the seed invariant and leave nothing behind.
/// </summary>
public class CallStreamTests
{
    private const int Workers = 16;
    private const int Transactions = 600;

    /// <summary>A coordinator that answers the call stream UNIMPLEMENTED, as one older than it does.</summary>
    public sealed class UnaryOnlyEnvironment : OrderInventoryEnvironment
    {
        public FakeLogCollector Logs { get; } = new();

        protected override void ConfigureCoordinator(CoordinatorProcessOptions options) => options.Settings["Coordinator:ServeCallStream"] = "false";

        protected override ILoggerFactory ClientLoggerFactory => new LoggerFactory([new FakeLoggerProvider(Logs)]);
    }

    public class OverTheStream(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
    {
        [Fact]
        public async Task Concurrent_orders_go_over_the_stream_and_keep_stock_and_orders_consistent()
        {
            var streamed = env.Client.Runtime.Coordinator.Streams.Single();
            var before = streamed.Answered;

            await PlaceConcurrentOrdersAndCheckAsync(env, "stream");

            Assert.False(streamed.IsUnsupported);
            // Begin, a registration per database, commit or rollback: at least four calls per transaction.
            Assert.True(streamed.Answered - before >= 4L * Transactions, $"{streamed.Answered - before} calls answered over the stream for {Transactions} transactions");
        }
    }

    public class AgainstACoordinatorWithoutTheStream(UnaryOnlyEnvironment env) : IClassFixture<UnaryOnlyEnvironment>
    {
        [Fact]
        public async Task Concurrent_orders_fall_back_to_unary_calls_and_keep_stock_and_orders_consistent()
        {
            await PlaceConcurrentOrdersAndCheckAsync(env, "unary");

            var streamed = env.Client.Runtime.Coordinator.Streams.Single();
            Assert.True(streamed.IsUnsupported);
            Assert.Equal(0, streamed.Answered);
            // Said once, not once per call: the stream is not tried again within the retry interval.
            var refusal = Assert.Single(env.Logs.GetSnapshot(), r => r.Message.Contains("does not serve the call stream", StringComparison.Ordinal));
            Assert.Equal(LogLevel.Warning, refusal.Level);
        }
    }

    /// <summary>Its own coordinator: the test stops and restarts it.</summary>
    public sealed class RestartedEnvironment : OrderInventoryEnvironment;

    public class ThroughACoordinatorRestart(RestartedEnvironment env) : IClassFixture<RestartedEnvironment>
    {
        [Fact]
        public async Task Calls_in_flight_when_the_coordinator_stops_are_sent_again_and_no_global_transaction_fails()
        {
            var streamed = env.Client.Runtime.Coordinator.Streams.Single();
            var answeredBeforeRestart = 0L;
            await PlaceOrdersAcrossARestartAndCheckAsync(env, "restart", () => answeredBeforeRestart = streamed.Answered);
            Assert.True(streamed.Answered > answeredBeforeRestart, "the stream reopened after the restart");
        }
    }

    /// <summary>
    /// Starts without the stream (an older coordinator) and is restarted serving it (the upgrade);
    /// the client tries the stream again after <see cref="AtProxyOptions.CallStreamRetryInterval"/>.
    /// </summary>
    public sealed class UpgradedInPlaceEnvironment : OrderInventoryEnvironment
    {
        private CoordinatorProcessOptions? _options;

        protected override void ConfigureCoordinator(CoordinatorProcessOptions options)
        {
            _options = options;
            options.Settings["Coordinator:ServeCallStream"] = "false";
        }

        protected override AtProxyOptions ConfigureOptions(AtProxyOptions options)
        {
            options.CallStreamRetryInterval = TimeSpan.FromSeconds(1);
            return options;
        }

        /// <summary>What the coordinator runs with after its next restart.</summary>
        public void ServeTheStreamFromTheNextStart() => _options!.Settings["Coordinator:ServeCallStream"] = "true";
    }

    public class AfterTheCoordinatorIsUpgradedInPlace(UpgradedInPlaceEnvironment env) : IClassFixture<UpgradedInPlaceEnvironment>
    {
        [Fact]
        public async Task The_calls_move_to_the_stream_without_restarting_the_application_and_no_global_transaction_fails()
        {
            var streamed = env.Client.Runtime.Coordinator.Streams.Single();
            var refusedBeforeTheUpgrade = 0L;
            await PlaceOrdersAcrossARestartAndCheckAsync(env, "upgrade", () =>
            {
                // Not IsUnsupported: with a 1 s retry interval it lapses between probes, so it may read false here.
                refusedBeforeTheUpgrade = streamed.Refusals;
                Assert.True(refusedBeforeTheUpgrade > 0, "the coordinator refused the stream before the upgrade");
                Assert.Equal(0, streamed.Answered);
                env.ServeTheStreamFromTheNextStart();
            });
            Assert.False(streamed.IsUnsupported);
            Assert.Equal(refusedBeforeTheUpgrade, streamed.Refusals);
            Assert.True(streamed.Answered > 0, "calls went over the stream after the upgrade");
        }
    }

    /// <summary>
    /// Places <see cref="Transactions"/> orders from <see cref="Workers"/> workers while the coordinator is
    /// stopped gracefully and restarted a third of the way in (<paramref name="whileStopped"/> runs in
    /// between); no order may fail, and the invariants hold afterwards.
    /// </summary>
    private static async Task PlaceOrdersAcrossARestartAndCheckAsync(OrderInventoryEnvironment env, string prefix, Action whileStopped)
    {
        string[] skus = [$"{prefix}-1", $"{prefix}-2", $"{prefix}-3"];
        await env.SeedStockAsync(skus);
        var outcomes = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<Exception>();
        var unasked = new ConcurrentQueue<Exception>();
        var next = -1;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 3571);
            while (Interlocked.Increment(ref next) < Transactions)
            {
                try
                {
                    var outcome = await env.PlaceOrderAsync(env.Orders, env.Inventory, skus[random.Next(skus.Length)], timesOut: false,
                        throwsAfterWrites: random.NextDouble() < 0.25, rolledBackBy: unasked.Enqueue);
                    outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                }
            }
        }

        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))).ToList();
        await Eventually.TrueAsync(() => Volatile.Read(ref next) >= Transactions / 3, TimeSpan.FromSeconds(120), "a third of the load before the stop");
        // A graceful stop ends the stream with the calls still waiting on it; they are sent again once it is back.
        await env.Coordinator.StopAsync();
        whileStopped();
        await env.Coordinator.RestartAsync();
        await Task.WhenAll(workers);

        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}")) +
            $", failed={failures.Count}: " + string.Join(" | ", failures.Concat(unasked).Take(5).Select(f => $"{f.GetType().Name}: {f.Message}"));
        Assert.True(failures.IsEmpty, summary);
        // A restart must not cost an order its 30 s timeout: only the orders' own exceptions roll back.
        Assert.True(!unasked.Any(e => e is GlobalTransactionException), summary);
        Assert.Equal(Transactions, outcomes.Values.Sum());
        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));
        await env.AssertStockMatchesOrdersAsync(skus, outcomes.GetValueOrDefault("committed"));
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
        Assert.Equal(0, await env.UnfinishedTransactionCountAsync());
    }

    private static async Task PlaceConcurrentOrdersAndCheckAsync(OrderInventoryEnvironment env, string prefix)
    {
        string[] skus = [$"{prefix}-1", $"{prefix}-2", $"{prefix}-3"];
        await env.SeedStockAsync(skus);
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 6151);
            while (Interlocked.Increment(ref next) < Transactions)
            {
                var throwsAfterWrites = random.NextDouble() < 0.25;
                outcomes.AddOrUpdate(await env.PlaceOrderAsync(env.Orders, env.Inventory, skus[random.Next(skus.Length)], timesOut: false, throwsAfterWrites), 1, (_, n) => n + 1);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))));
        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));

        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"));
        Assert.Equal(Transactions, outcomes.Values.Sum());
        Assert.True(outcomes.GetValueOrDefault("committed") > Transactions / 2, summary);
        Assert.True(outcomes.GetValueOrDefault("rolled back by exception") > 0, summary);
        await env.AssertStockMatchesOrdersAsync(skus, outcomes.GetValueOrDefault("committed"));
        Assert.Empty(await env.LocksAsync());
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.OrdersConnectionString));
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
        Assert.Equal(0, await env.UnfinishedTransactionCountAsync());
    }
}
