using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// The coordinator's instruments against a real workload of concurrent transactions: what they
/// count is what happened, and the gauges say what GetCoordinatorStatus says.
/// </summary>
public class MetricsWorkloadTests
{
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();

        public Recorder(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "AtProxy.Coordinator" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                    Units[instrument.Name] = instrument.Unit ?? "";
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument.Name, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument.Name, value, tags));
            _listener.Start();
        }

        public ConcurrentDictionary<string, string> Units { get; } = new();

        public ConcurrentQueue<(string Name, double Value, Dictionary<string, string?> Tags)> Measurements { get; } = new();

        public void Observe()
        {
            Measurements.Clear();
            _listener.RecordObservableInstruments();
        }

        public double Sum(string name, params (string Key, string Value)[] tags) =>
            Of(name, tags).Sum(m => m.Value);

        public int Count(string name, params (string Key, string Value)[] tags) => Of(name, tags).Count();

        private IEnumerable<(string Name, double Value, Dictionary<string, string?> Tags)> Of(string name, (string Key, string Value)[] tags) =>
            Measurements.Where(m => m.Name == name && tags.All(t => m.Tags.GetValueOrDefault(t.Key) == t.Value));

        private void Add(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value?.ToString();
            }
            Measurements.Enqueue((name, value, copy));
        }

        public void Dispose() => _listener.Dispose();
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Instruments_count_what_a_concurrent_workload_did_and_the_gauges_agree_with_the_admin_status(string store)
    {
        const int Commits = 20, Rollbacks = 10, Stuck = 3;
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s =>
        {
            s["Coordinator:BranchCommandTimeoutMs"] = "30000";
            InProcessCoordinator.RetryAfterAMinute(s);
        });
        using var recorder = new Recorder(coordinator.Services.GetRequiredService<IMeterFactory>());
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");

        async Task RunAsync(int i)
        {
            var xid = await coordinator.Tm.BeginAsync(i < Commits ? "place-order" : "refund");
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}");
            if (i < Commits)
            {
                await coordinator.Tm.CommitAsync(xid);
                await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
            }
            else
            {
                Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.RollbackAsync(xid));
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Commits + Rollbacks).Select(RunAsync));
        // Three transactions hold two locks each, one of them waits in phase 2 for a resource nobody serves.
        var held = new List<string>();
        for (var i = 0; i < Stuck; i++)
        {
            var xid = await coordinator.Tm.BeginAsync("held");
            await coordinator.Rm.RegisterGrantedAsync(xid, i == 0 ? "nobody-db" : "db", $"h:{i}", $"h:{i}b");
            held.Add(xid);
        }
        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(held[0]));
        // A lock check that waits and finds the key still held.
        Assert.False((await coordinator.Rm.CheckLocksAsync(new CheckLocksRequest { ResourceId = "db", WaitMs = 50, LockKeys = { CoordinatorClientExtensions.Key("h:1") } })).Lockable);

        Assert.Equal(Commits + Stuck + Rollbacks, recorder.Sum("atproxy.coordinator.transactions.begun"));
        Assert.Equal(Commits, recorder.Sum("atproxy.coordinator.transactions.ended", ("status", "COMMITTED"), ("name", "place-order")));
        Assert.Equal(Rollbacks, recorder.Sum("atproxy.coordinator.transactions.ended", ("status", "ROLLBACKED"), ("name", "refund")));
        Assert.Equal(Commits + Rollbacks, recorder.Sum("atproxy.coordinator.transactions.ended"));
        Assert.Equal(Commits, recorder.Count("atproxy.coordinator.phase_two.command.duration", ("action", "commit"), ("outcome", "succeeded")));
        Assert.Equal(Rollbacks, recorder.Count("atproxy.coordinator.phase_two.command.duration", ("action", "rollback"), ("outcome", "succeeded")));
        Assert.True(recorder.Sum("atproxy.coordinator.phase_two.attempts") >= Commits + Rollbacks + 1);
        Assert.Equal(1, recorder.Count("atproxy.coordinator.lock.wait.duration", ("outcome", "held")));
        Assert.InRange(recorder.Sum("atproxy.coordinator.lock.wait.duration"), 0.040, 5);
        Assert.Equal(Commits, recorder.Count("atproxy.coordinator.commit.duration"));
        if (store != "memory")
        {
            Assert.True(recorder.Count("atproxy.coordinator.store.write.duration", ("store", store)) > 0, "store writes are timed");
        }
        Assert.Equal("s", recorder.Units["atproxy.coordinator.commit.duration"]);
        Assert.Equal("s", recorder.Units["atproxy.coordinator.phase_two.command.duration"]);
        Assert.Equal("{transaction}", recorder.Units["atproxy.coordinator.transactions.ended"]);

        recorder.Observe();
        var status = await coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest());
        Assert.Equal(status.LocksHeld, recorder.Sum("atproxy.coordinator.locks.held"));
        Assert.Equal(2 * Stuck, recorder.Sum("atproxy.coordinator.locks.held"));
        Assert.Equal(2, recorder.Sum("atproxy.coordinator.transactions.active", ("status", "BEGIN")));
        Assert.Equal(1, recorder.Sum("atproxy.coordinator.transactions.active", ("status", "ROLLBACK_RETRYING")));
        foreach (var count in status.TransactionsByStatus.Where(c => c.Status is GlobalStatus.Begin or GlobalStatus.RollbackRetrying))
        {
            Assert.Equal(count.Count, recorder.Sum("atproxy.coordinator.transactions.active", ("status", count.Status == GlobalStatus.Begin ? "BEGIN" : "ROLLBACK_RETRYING")));
        }
    }
}
