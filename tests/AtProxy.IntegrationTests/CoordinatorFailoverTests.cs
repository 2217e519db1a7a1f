using System.Collections.Concurrent;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;

namespace AtProxy.IntegrationTests;

/// <summary>
/// Three coordinators on one shared PostgreSQL store, and an application that knows all three.
/// The one it sends its calls to is killed with SIGKILL under load: the calls go to a live one,
/// the calls in flight are sent again, no global transaction fails, and what the dead one left
/// unfinished is finished by the others.
/// </summary>
public class CoordinatorFailoverTests(CoordinatorFailoverTests.Environment env) : IClassFixture<CoordinatorFailoverTests.Environment>
{
    private const int Workers = 8;
    private const int Transactions = 800;
    private static readonly string[] Skus = Enumerable.Range(1, 40).Select(i => $"failover-{i}").ToArray();

    /// <summary>The orders and inventory databases with three coordinators on a shared store; the first is the environment's own.</summary>
    public sealed class Environment : OrderInventoryEnvironment
    {
        private TestDatabase? _store;

        public List<CoordinatorProcess> Others { get; } = [];

        public override async Task InitializeAsync()
        {
            var server = await PostgresServer.SharedAsync();
            _store = await server.CreateDatabaseAsync("failover_store");
            for (var i = 2; i <= 3; i++)
            {
                Others.Add(await CoordinatorProcess.StartAsync(SharedStore($"tc-{i}")));
            }
            await base.InitializeAsync();
        }

        protected override void ConfigureCoordinator(CoordinatorProcessOptions options)
        {
            base.ConfigureCoordinator(options);
            Configure(options, "tc-1");
        }

        protected override AtProxyOptions ConfigureOptions(AtProxyOptions options)
        {
            options.AdditionalCoordinators = Others.Select(o => o.Address).ToList();
            return options;
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            foreach (var other in Others)
            {
                await other.DisposeAsync();
            }
            if (_store is not null)
            {
                await _store.DisposeAsync();
            }
        }

        private CoordinatorProcessOptions SharedStore(string nodeId)
        {
            var options = new CoordinatorProcessOptions();
            options.Settings["Coordinator:EndedRetentionMs"] = "600000";
            Configure(options, nodeId);
            return options;
        }

        private void Configure(CoordinatorProcessOptions options, string nodeId)
        {
            options.Store = "postgres";
            options.Settings["Coordinator:StoreConnection"] = _store!.ConnectionString;
            options.Settings["Coordinator:NodeId"] = nodeId;
            // A dead instance's transactions are taken over once its lease lapses.
            options.Settings["Coordinator:LeaseMs"] = "2000";
            options.Settings["Coordinator:SweepIntervalMs"] = "100";
        }
    }

    [Fact]
    public async Task The_coordinator_an_application_uses_killed_under_load_fails_no_global_transaction()
    {
        await env.SeedStockAsync(Skus);
        foreach (var other in env.Others)
        {
            await Eventually.TrueAsync(
                async () => (await new Admin.AdminClient(other.Channel).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).ResourceManagers
                    .Any(m => m.ResourceIds.Contains(env.InventoryResourceId)),
                TimeSpan.FromSeconds(30), "the resource manager to subscribe to every coordinator");
        }
        var outcomes = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<Exception>();
        var next = -1;

        async Task Worker(int worker)
        {
            var random = new Random(worker * 7907);
            while (Interlocked.Increment(ref next) < Transactions)
            {
                try
                {
                    var outcome = await env.PlaceOrderAsync(env.Orders, env.Inventory, Skus[random.Next(Skus.Length)], timesOut: false,
                        throwsAfterWrites: random.NextDouble() < 0.2);
                    outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                }
            }
        }

        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))).ToList();
        await Eventually.TrueAsync(() => Volatile.Read(ref next) >= Transactions / 3, TimeSpan.FromSeconds(120), "a third of the load before the kill");
        env.Coordinator.Kill();
        await Task.WhenAll(workers);

        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}")) +
            $", failed={failures.Count}: " + string.Join(" | ", failures.Take(5).Select(f => $"{f.GetType().Name}: {f.Message}"));
        Assert.True(failures.IsEmpty, summary);
        Assert.Equal(Transactions, outcomes.Values.Sum());

        // The survivors finish what the dead one left: nothing open, no lock held, on their word alone.
        var survivor = new Admin.AdminClient(env.Others[0].Channel);
        await Eventually.TrueAsync(async () =>
            {
                var locks = await survivor.ListLocksAsync(new ListLocksRequest { PageSize = 10 });
                return locks.Locks.Count == 0 && await TwoDatabaseEnvironment.UnfinishedTransactionCountAsync(survivor) == 0;
            },
            TimeSpan.FromSeconds(60), $"the surviving coordinators to finish every transaction ({summary})");

        await env.AssertStockMatchesOrdersAsync(Skus, outcomes.GetValueOrDefault("committed"));
        await env.Coordinator.RestartAsync();
        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));
    }
}
