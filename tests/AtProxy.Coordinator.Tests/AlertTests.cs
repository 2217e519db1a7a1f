using System.Diagnostics.Metrics;
using AtProxy.Coordinator.Alerts;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.Coordinator.Tests;

/// <summary>The alerts that are not about retry budgets: an old unfinished transaction, a branch that keeps failing, a dirty write.</summary>
public sealed class AlertTests
{
    private static async Task<InProcessCoordinator> StartAsync(string store, RecordingAlertObserver observer, Action<Dictionary<string, string>> configure) =>
        await InProcessCoordinator.StartAsync(store, configure, services: services => services.AddSingleton<ICoordinatorAlertObserver>(observer));

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_transaction_unfinished_past_the_alert_age_is_alerted_once_and_resolved_when_it_ends(string store)
    {
        var observer = new RecordingAlertObserver();
        await using var coordinator = await StartAsync(store, observer, s => s["Coordinator:UnfinishedAlertAfterMs"] = "400");
        var old = await coordinator.Tm.BeginAsync("slow-report", timeoutMs: 60_000);

        await Eventually.TrueAsync(() => observer.Of(old, CoordinatorAlertKind.Unfinished).Count == 1, null, $"the unfinished alert of {old}");
        var alert = observer.Of(old, CoordinatorAlertKind.Unfinished)[0];
        Assert.Equal((GlobalStatus.Begin, "slow-report"), (alert.Status, alert.Name));
        Assert.True(alert.Age >= TimeSpan.FromMilliseconds(400), $"alerted at the age of {alert.Age}");
        var young = await coordinator.Tm.BeginAsync("fresh", timeoutMs: 60_000);
        await Never.WithinAsync(() => observer.Of(old, CoordinatorAlertKind.Unfinished).Count > 1, TimeSpan.FromMilliseconds(1200),
            "a second unfinished alert", "a transaction is alerted once per condition");
        Assert.Contains((await coordinator.Admin.ListAlertsAsync(new ListAlertsRequest())).Alerts, a => a.Xid == old && a.Kind == "unfinished");

        await coordinator.Tm.CommitAsync(old);
        await coordinator.Tm.CommitAsync(young);
        await Eventually.TrueAsync(async () => (await coordinator.Admin.ListAlertsAsync(new ListAlertsRequest())).Alerts.All(a => a.Xid != old),
            null, $"the alert of {old} to be resolved once it committed");
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_branch_failing_more_often_than_the_threshold_is_alerted_once_and_counted_by_kind(string store)
    {
        var observer = new RecordingAlertObserver();
        await using var coordinator = await StartAsync(store, observer, s =>
        {
            s["Coordinator:BranchFailureAlertThreshold"] = "3";
            s["Coordinator:MaxRollbackRetryMs"] = "-1";
            s["Coordinator:UnfinishedAlertAfterMs"] = "0";
        });
        var factory = coordinator.Services.GetRequiredService<IMeterFactory>();
        var counted = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "atproxy.coordinator.alerts" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (counted)
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "kind")
                    {
                        counted.Add((string)tag.Value!);
                    }
                }
            }
        });
        listener.Start();
        await using var failing = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        failing.Script = command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: true, "connection refused"));
        var xid = await coordinator.Tm.BeginAsync();
        var branch = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        await coordinator.Tm.RollbackAsync(xid);
        await Eventually.TrueAsync(() => observer.Of(xid, CoordinatorAlertKind.BranchFailures).Count == 1, null, $"the branch_failures alert of {xid}");
        Assert.True(failing.Received.Count >= 4, $"alerted after {failing.Received.Count} failures, more than the threshold of 3");
        var alert = observer.Of(xid, CoordinatorAlertKind.BranchFailures)[0];
        Assert.Contains($"branch {branch} on db failed phase 2 4 times", alert.Message);
        await failing.WaitForCommandsAsync(failing.Received.Count + 2);
        Assert.Single(observer.Of(xid, CoordinatorAlertKind.BranchFailures));
        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.StatusAsync(xid));
        lock (counted)
        {
            Assert.Equal(["branch_failures"], counted);
        }

        failing.Script = command => Task.FromResult(ScriptedResourceManager.Succeed(command));
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_rollback_stopped_by_a_dirty_write_is_alerted_as_rollback_failed(string store)
    {
        var observer = new RecordingAlertObserver();
        await using var coordinator = await StartAsync(store, observer, s => s["Coordinator:UnfinishedAlertAfterMs"] = "0");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: false, "dirty write: count changed outside the transaction"));
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(xid));

        await Eventually.TrueAsync(() => observer.Of(xid, CoordinatorAlertKind.RollbackFailed).Count == 1, null, $"the rollback_failed alert of {xid}");
        var alert = observer.Of(xid, CoordinatorAlertKind.RollbackFailed)[0];
        Assert.Contains("dirty write", alert.Message);
        Assert.Equal("dirty write: count changed outside the transaction", Assert.Single(alert.BranchErrors).Error);
        Assert.Equal("rollback_failed", Assert.Single((await coordinator.Admin.ListAlertsAsync(new ListAlertsRequest())).Alerts).Kind);
    }
}
