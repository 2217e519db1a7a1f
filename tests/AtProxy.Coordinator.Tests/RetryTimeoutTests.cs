using AtProxy.Coordinator.Alerts;
using AtProxy.Testing.Alerts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// Phase 2 that ends loudly: retries that run past their budget stop in COMMIT_RETRY_TIMEOUT or
/// ROLLBACK_RETRY_TIMEOUT (a rollback with its locks held), raise one alert, survive a restart, and
/// wait for a person's retry, which starts a fresh budget.
/// </summary>
public sealed class RetryTimeoutTests
{
    private static Grpc.Core.Metadata Operator(string name) => new() { { "atproxy-operator", name } };

    private static Func<BranchCommand, Task<BranchCommandResult>> AlwaysFails(string message) =>
        command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: true, message));

    private static async Task<InProcessCoordinator> StartAsync(string store, RecordingAlertObserver observer, AlertWebhookReceiver? webhook,
        Action<Dictionary<string, string>> configure) =>
        await InProcessCoordinator.StartAsync(store, settings =>
        {
            settings["Coordinator:UnfinishedAlertAfterMs"] = "0";
            if (webhook is not null)
            {
                settings["Coordinator:AlertWebhookUrl"] = webhook.Url.ToString();
            }
            configure(settings);
        }, services: services => services.AddSingleton<ICoordinatorAlertObserver>(observer));

    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task A_rollback_that_keeps_failing_stops_in_ROLLBACK_RETRY_TIMEOUT_holding_its_locks_across_a_restart_until_a_retry_finishes_it(string store)
    {
        var observer = new RecordingAlertObserver();
        await using var webhook = new AlertWebhookReceiver();
        await using var coordinator = await StartAsync(store, observer, webhook, s => s["Coordinator:MaxRollbackRetryMs"] = "700");
        var failing = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        failing.Script = AlwaysFails("database unreachable");
        var xid = await coordinator.Tm.BeginAsync("place-order", applicationId: "orders");
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1", "t:2");

        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(xid));
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.RollbackRetryTimeout);

        // Retried within the budget, then stopped: no further command, the locks still held.
        Assert.True(failing.Received.Count >= 2, $"phase 2 was tried {failing.Received.Count} time(s) within its budget");
        var tried = failing.Received.Count;
        Assert.Equal(2, await coordinator.Admin.LockCountAsync(xid));
        var shown = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        var stop = shown.History.Last();
        Assert.Equal((GlobalStatus.RollbackRetrying, GlobalStatus.RollbackRetryTimeout), (stop.From, stop.To));
        Assert.Contains("MaxRollbackRetryMs = 700 ms", stop.Reason);
        Assert.Contains("database unreachable", stop.Reason);

        // One alert, to the observer and the webhook, naming the transaction and the branch's error.
        await Eventually.TrueAsync(() => webhook.AlertsFor(xid, "retry_timeout").Count == 1, null, $"the webhook to receive the retry_timeout alert of {xid}");
        var payload = webhook.AlertsFor(xid, "retry_timeout")[0];
        Assert.Equal("ROLLBACK_RETRY_TIMEOUT", payload.GetProperty("status").GetString());
        Assert.Equal(("place-order", "orders"), (payload.GetProperty("name").GetString(), payload.GetProperty("application").GetString()));
        Assert.True(payload.GetProperty("ageMs").GetInt64() >= 700);
        var branchError = Assert.Single(payload.GetProperty("branchErrors").EnumerateArray());
        Assert.Equal("database unreachable", branchError.GetProperty("error").GetString());
        Assert.Equal("PHASE_TWO_ROLLBACK_FAILED_RETRYABLE", branchError.GetProperty("status").GetString());
        Assert.Single(observer.Of(xid, CoordinatorAlertKind.RetryTimeout));
        var listed = Assert.Single((await coordinator.Admin.ListAlertsAsync(new ListAlertsRequest())).Alerts);
        Assert.Equal((xid, "retry_timeout", GlobalStatus.RollbackRetryTimeout), (listed.Xid, listed.Kind, listed.Status));
        await Never.WithinAsync(() => failing.Received.Count > tried, TimeSpan.FromMilliseconds(600),
            "another rollback command", "a transaction out of retry budget waits for a person");

        // A restart keeps the status, the locks and the active alert, and does not send it again.
        await failing.DisposeAsync();
        await coordinator.RestartAsync();
        Assert.Equal(GlobalStatus.RollbackRetryTimeout, await coordinator.Tm.StatusAsync(xid));
        Assert.Equal(2, await coordinator.Admin.LockCountAsync(xid));
        await Eventually.TrueAsync(async () => (await coordinator.Admin.ListAlertsAsync(new ListAlertsRequest())).Alerts.Any(a => a.Xid == xid && a.Kind == "retry_timeout"),
            null, $"the restarted coordinator to list the alert of {xid}");
        await using var healthy = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        await Never.WithinAsync(() => healthy.Received.Count > 0, TimeSpan.FromMilliseconds(500),
            "a rollback command to the resource manager that subscribed", "only a person resumes a stopped transaction");

        // A person's retry resumes it with a fresh budget; the history says who and why.
        var resumed = await coordinator.Admin.RetryAsync(new InterveneRequest { Xid = xid, Reason = "database back up" }, Operator("alice"));
        Assert.Equal(GlobalStatus.RollbackRetrying, resumed.Status);
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        var history = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History;
        Assert.Contains(history, h => h.From == GlobalStatus.RollbackRetryTimeout && h.To == GlobalStatus.RollbackRetrying && h.Reason == "database back up" && h.Actor == "alice");
        Assert.Empty((await coordinator.Admin.ListAlertsAsync(new ListAlertsRequest())).Alerts);
        Assert.Single(webhook.AlertsFor(xid, "retry_timeout"));
    }

    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task A_commit_that_keeps_failing_stops_in_COMMIT_RETRY_TIMEOUT_across_a_restart_until_a_retry_finishes_it(string store)
    {
        var observer = new RecordingAlertObserver();
        await using var coordinator = await StartAsync(store, observer, webhook: null, s => s["Coordinator:MaxCommitRetryMs"] = "700");
        var failing = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        failing.Script = AlwaysFails("resource manager busy");
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(xid));
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.CommitRetryTimeout);

        // The commit is decided: its locks went with the decision.
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        await Eventually.TrueAsync(() => observer.Of(xid, CoordinatorAlertKind.RetryTimeout).Count == 1, null, $"the retry_timeout alert of {xid}");
        Assert.Equal(GlobalStatus.CommitRetryTimeout, observer.Of(xid, CoordinatorAlertKind.RetryTimeout)[0].Status);

        await failing.DisposeAsync();
        await coordinator.RestartAsync();
        Assert.Equal(GlobalStatus.CommitRetryTimeout, await coordinator.Tm.StatusAsync(xid));
        await using var healthy = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var resumed = await coordinator.Admin.RetryAsync(new InterveneRequest { Xid = xid, Reason = "resource manager restarted" }, Operator("bob"));
        Assert.Equal(GlobalStatus.CommitRetrying, resumed.Status);
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
        Assert.Single(observer.Of(xid, CoordinatorAlertKind.RetryTimeout));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Retries_stop_at_the_budget_counted_from_the_decision_and_a_retry_counts_afresh(string store)
    {
        var observer = new RecordingAlertObserver();
        await using var coordinator = await StartAsync(store, observer, webhook: null, s =>
        {
            s["Coordinator:MaxRollbackRetryMs"] = "1500";
            s["Coordinator:RetryInitialDelayMs"] = "100";
            s["Coordinator:RetryMaxDelayMs"] = "100";
        });
        await using var failing = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        failing.Script = AlwaysFails("lock wait timeout");
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        await coordinator.Tm.RollbackAsync(xid);
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.RollbackRetryTimeout);
        var shown = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        var decided = shown.History.First(h => h.To == GlobalStatus.Rollbacking).AtUnixMs;
        var stopped = shown.History.Last().AtUnixMs;
        Assert.InRange(stopped - decided, 1500, 10_000);

        await coordinator.Admin.RetryAsync(new InterveneRequest { Xid = xid, Reason = "try once more" });
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.RollbackRetryTimeout);
        var again = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        var retried = again.History.Last(h => h.Reason == "try once more").AtUnixMs;
        Assert.InRange(again.History.Last().AtUnixMs - retried, 1500, 10_000);
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(xid));
        // Resolved by the retry, raised again by the second stop: one alert per stop.
        await Eventually.EqualAsync(2, () => Task.FromResult(observer.Of(xid, CoordinatorAlertKind.RetryTimeout).Count), null, $"the alert of each stop of {xid}");
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Several_transactions_that_run_out_of_retries_at_once_get_exactly_one_alert_each(string store)
    {
        var observer = new RecordingAlertObserver();
        await using var webhook = new AlertWebhookReceiver();
        await using var coordinator = await StartAsync(store, observer, webhook, s =>
        {
            s["Coordinator:MaxRollbackRetryMs"] = "500";
            s["Coordinator:MaxCommitRetryMs"] = "500";
        });
        await using var failing = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        failing.Script = AlwaysFails("database unreachable");

        var decided = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var xid = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}");
            var commit = i % 2 == 0;
            _ = commit ? await coordinator.Tm.CommitAsync(xid) : await coordinator.Tm.RollbackAsync(xid);
            return (Xid: xid, Commit: commit);
        }));
        foreach (var (xid, commit) in decided)
        {
            await coordinator.Tm.WaitForStatusAsync(xid, commit ? GlobalStatus.CommitRetryTimeout : GlobalStatus.RollbackRetryTimeout);
        }

        await Eventually.EqualAsync(16, () => Task.FromResult(webhook.Received.Count), null, "one webhook alert per transaction");
        await Never.WithinAsync(() => webhook.Received.Count > 16 || observer.Alerts.Count > 16, TimeSpan.FromSeconds(1),
            "a second alert", "each transaction entered its retry-timeout status once");
        foreach (var (xid, commit) in decided)
        {
            Assert.Single(webhook.AlertsFor(xid, "retry_timeout"));
            Assert.Single(observer.Of(xid, CoordinatorAlertKind.RetryTimeout));
            Assert.Equal(commit ? 0 : 1, await coordinator.Admin.LockCountAsync(xid));
        }
        var listed = (await coordinator.Admin.ListAlertsAsync(new ListAlertsRequest())).Alerts;
        Assert.Equal(decided.Select(d => d.Xid).Order(StringComparer.Ordinal), listed.Select(a => a.Xid).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Coordinator:MaxRollbackRetryMs", "0", "Coordinator:MaxRollbackRetryMs must be positive, or -1 to retry without end (got 0)")]
    [InlineData("Coordinator:MaxCommitRetryMs", "-5", "Coordinator:MaxCommitRetryMs must be positive, or -1 to retry without end (got -5)")]
    [InlineData("Coordinator:AlertWebhookUrl", "ftp://alerts.example", "Coordinator:AlertWebhookUrl 'ftp://alerts.example' must be an absolute http or https URL")]
    [InlineData("Coordinator:UnfinishedAlertAfterMs", "-1", "Coordinator:UnfinishedAlertAfterMs must be 0 (off) or positive (got -1)")]
    [InlineData("Coordinator:BranchFailureAlertThreshold", "-2", "Coordinator:BranchFailureAlertThreshold must be 0 (off) or positive (got -2)")]
    public async Task A_bad_retry_budget_or_alert_setting_stops_the_coordinator_at_start_naming_it(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => InProcessCoordinator.StartAsync("memory", s => s[key] = value));

        Assert.Contains(expected, error.Message);
    }
}
