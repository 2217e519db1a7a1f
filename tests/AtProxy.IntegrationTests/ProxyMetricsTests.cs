using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The proxy's meter "AtProxy" against a real workload of concurrent global transactions: branches
/// registered, undo bytes, lock waits, phase-2 rollbacks and the commit and rollback requests are
/// what happened.
/// </summary>
public class ProxyMetricsTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private const string Resource = "inventory-metrics";

    [Fact]
    public async Task The_AtProxy_meter_counts_what_concurrent_transactions_did()
    {
        const int Commits = 12, Rollbacks = 6;
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var measurements = new ConcurrentQueue<(string Name, double Value, Dictionary<string, string?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This client's meter only: other tests' clients share the process's meter.
            if (instrument.Meter.Name == "AtProxy" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value?.ToString();
            }
            measurements.Enqueue((instrument.Name, value, copy));
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        listener.Start();
        IEnumerable<(string Name, double Value, Dictionary<string, string?> Tags)> Of(string name, params (string Key, string Value)[] tags) =>
            measurements.Where(m => m.Name == name && tags.All(t => m.Tags.GetValueOrDefault(t.Key) == t.Value));

        var skus = Enumerable.Range(0, Commits + Rollbacks).Select(i => $"metrics-{i}").ToList();
        await env.SeedStockAsync([.. skus, "metrics-hot"], 100);
        await using var client = AtProxyClient.Create(new AtProxyOptions { Coordinator = env.Coordinator.Address, ApplicationId = "metrics-test", LockRetryCount = 1000 }, null, factory);
        await using var source = NpgsqlDataSource.Create(env.InventoryConnectionString);
        await using var inventory = client.Wrap(source, Resource);
        await Eventually.TrueAsync(
            async () => (await env.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).ResourceManagers.Any(m => m.ResourceIds.Contains(Resource)),
            null, $"the resource manager of {Resource} to subscribe");

        async Task RunAsync(int i)
        {
            await using var gtx = await client.BeginAsync("metrics", TimeSpan.FromSeconds(30));
            await using (var connection = await inventory.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku = skus[i] });
            }
            if (i < Commits)
            {
                await gtx.CommitAsync();
            }
            else
            {
                await gtx.RollbackAsync();
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Commits + Rollbacks).Select(RunAsync));

        // One hot row: the second transaction waits for the first's global lock, then gets it.
        // Begun in a flow of its own, so the second does not join it as the ambient transaction.
        var first = await Task.Run(async () =>
        {
            var gtx = await client.BeginAsync("hot", TimeSpan.FromSeconds(30));
            await using var connection = await inventory.OpenConnectionAsync();
            await connection.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = 'metrics-hot'");
            return gtx;
        });
        var second = Task.Run(async () =>
        {
            await using var gtx = await client.BeginAsync("hot", TimeSpan.FromSeconds(30));
            await using (var connection = await inventory.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = 'metrics-hot'");
            }
            await gtx.CommitAsync();
        });
        Assert.Single(await env.LocksAsync(first.Xid));
        await Never.WithinAsync(() => second.IsCompleted, TimeSpan.FromMilliseconds(300),
            "the second hot transaction to finish", "the first holds the row's global lock until it commits");
        await first.CommitAsync();
        await first.DisposeAsync();
        await second;

        Assert.Equal(Commits + Rollbacks + 2, Of("atproxy.branches.registered", ("resource", Resource)).Sum(m => m.Value));
        Assert.Equal(Commits + Rollbacks + 2, Of("atproxy.branch.registration.duration", ("resource", Resource)).Count());
        Assert.True(Of("atproxy.undo.written", ("resource", Resource)).Sum(m => m.Value) > 100 * (Commits + Rollbacks + 2), "undo bytes are counted per branch");
        Assert.Equal(Rollbacks, Of("atproxy.phase_two.rollbacks", ("resource", Resource), ("outcome", "rolled_back")).Sum(m => m.Value));
        Assert.Equal(Rollbacks, Of("atproxy.phase_two.rollback.duration", ("resource", Resource)).Count());
        Assert.Equal(Commits + 2, Of("atproxy.transactions.requests", ("request", "commit")).Sum(m => m.Value));
        Assert.Equal(Rollbacks, Of("atproxy.transactions.requests", ("request", "rollback"), ("outcome", "Rollbacked")).Sum(m => m.Value));
        // Begin, registration, commit or rollback of each: all over the call stream, none unary.
        Assert.True(Of("atproxy.coordinator.calls", ("transport", "stream")).Sum(m => m.Value) >= 3 * (Commits + Rollbacks + 2), "calls counted by transport");
        Assert.Empty(Of("atproxy.coordinator.calls", ("transport", "unary")));
        // The second waited at least the 300 ms the first was seen holding the row (in one wait or more).
        var waits = Of("atproxy.global_lock.wait.duration", ("resource", Resource)).ToList();
        Assert.NotEmpty(waits);
        // An autocommit statement gives way (gave_up) and waits again with no row locks until it is acquired.
        Assert.Contains(waits, w => w.Tags["outcome"] == "acquired");
        Assert.InRange(waits.Sum(w => w.Value), 0.3, 30);
        await using var plain = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(Commits, await plain.ExecuteScalarAsync<int>("SELECT count(*) FROM stock WHERE sku LIKE 'metrics-%' AND sku <> 'metrics-hot' AND count = 99"));
        Assert.Equal(98, await plain.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = 'metrics-hot'"));
    }
}
