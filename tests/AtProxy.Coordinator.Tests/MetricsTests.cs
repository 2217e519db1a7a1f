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
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => latencies.Add(value));
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
        Assert.InRange(latency, 0, 5_000);
    }
}
