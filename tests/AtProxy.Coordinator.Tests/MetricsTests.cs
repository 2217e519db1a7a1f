using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.Coordinator.Tests;

/// <summary>The "AtProxy.Coordinator" meter counts what happened.</summary>
public class MetricsTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Meter_counts_begun_committed_rolled_back_conflicts_retries_and_commit_latency(string store)
    {
        // Exactly one retry: the one the script asks for, not one for a command that timed out on a slow machine.
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        var factory = coordinator.Services.GetRequiredService<IMeterFactory>();
        var totals = new ConcurrentDictionary<string, double>();
        var latencies = new ConcurrentBag<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this coordinator's meter: other tests run coordinators in the same process.
            if (instrument.Meter.Name == "AtProxy.Coordinator" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => totals.AddOrUpdate(instrument.Name, value, (_, total) => total + value));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "atproxy.coordinator.commit.duration")
            {
                latencies.Add(value);
            }
        });
        listener.Start();

        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = ScriptedResourceManager.BusyOnceThenSucceed();
        var committed = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(committed, "db", "t:1");
        var loser = await coordinator.Tm.BeginAsync();
        Assert.NotNull((await coordinator.Rm.RegisterAsync(loser, "db", "t:1")).Conflict);
        await coordinator.Tm.CommitAsync(committed);
        await coordinator.Tm.WaitForStatusAsync(committed, GlobalStatus.Committed);
        await coordinator.Tm.RollbackAsync(loser);

        Assert.Equal(2, totals.GetValueOrDefault("atproxy.coordinator.transactions.begun"));
        Assert.Equal(1, totals.GetValueOrDefault("atproxy.coordinator.transactions.committed"));
        Assert.Equal(1, totals.GetValueOrDefault("atproxy.coordinator.transactions.rolled_back"));
        Assert.Equal(1, totals.GetValueOrDefault("atproxy.coordinator.lock_conflicts"));
        Assert.Equal(1, totals.GetValueOrDefault("atproxy.coordinator.phase_two.retries"));
        var latency = Assert.Single(latencies);
        Assert.InRange(latency, 0, 5); // seconds
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("embedded")]
    public async Task Lock_hold_is_recorded_once_per_branch_when_the_decision_lets_go_of_its_locks(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var factory = coordinator.Services.GetRequiredService<IMeterFactory>();
        var holds = new ConcurrentBag<(double Seconds, string? Resource)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "atproxy.coordinator.lock.hold.duration" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? resource = null;
            foreach (var tag in tags)
            {
                resource = tag.Key == "resource" ? tag.Value as string : resource;
            }
            holds.Add((value, resource));
        });
        listener.Start();

        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1", "t:2", "t:3");
        Assert.Empty(holds); // still held
        // Hold the locks at least 20 ms: the recorded hold must cover that (the assertion is on the histogram).
        await Task.Delay(20);
        await coordinator.Tm.CommitAsync(xid);
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);

        var hold = Assert.Single(holds);
        Assert.Equal("db", hold.Resource);
        Assert.InRange(hold.Seconds, 0.020, 5);
    }
}
