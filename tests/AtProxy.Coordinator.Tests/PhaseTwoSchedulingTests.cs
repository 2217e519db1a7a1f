using AtProxy.Coordinator.Alerts;
using AtProxy.Coordinator.Coordination;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// When phase-2 attempts start, and what a caller is answered when the transaction it waits on
/// ends and is purged at once.
/// </summary>
public sealed class PhaseTwoSchedulingTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task SweepAttempt_rescheduled_since_it_was_listed_as_due_waits_for_the_back_off(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: InProcessCoordinator.RetryAfterAMinute);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = ScriptedResourceManager.BusyOnceThenSucceed();
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        // The background loop lists the transaction as due just before the rollback's own attempt
        // fails and schedules the next one a minute later...
        var listedAsDueAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(xid));
        var driver = coordinator.Services.GetRequiredService<PhaseTwoDriver>();

        // ...so the attempt it then starts finds the transaction no longer due and does nothing.
        await driver.RunAsync(xid, dueByUnixMs: listedAsDueAt);

        Assert.Single(rm.Received);
        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.StatusAsync(xid));
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(xid));

        // An attempt asked for directly (a person's retry) does not wait for the back-off.
        await driver.RunAsync(xid);

        Assert.Equal(2, rm.Received.Count);
        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.StatusAsync(xid));
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Rollback_concurrent_transactions_purged_as_soon_as_they_end_each_answers_rollbacked(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s =>
        {
            s["Coordinator:EndedRetentionMs"] = "0";
            s["Coordinator:SweepIntervalMs"] = "5";
        });
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");

        var answers = await Task.WhenAll(Enumerable.Range(0, 80).Select(async i =>
        {
            var xid = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}");
            return await coordinator.Tm.RollbackAsync(xid);
        }));

        Assert.All(answers, status => Assert.Equal(GlobalStatus.Rollbacked, status));
        Assert.Equal(80, rm.Received.Count(c => c.Action == BranchAction.Rollback));
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_retry_made_as_the_attempt_that_stopped_the_transaction_winds_down_starts_the_next_attempt_at_once(string store)
    {
        // An operator (here: the alert observer) retries each stop the moment it is raised, often
        // while the attempt that stopped it is still letting its claim go. A retry lost there would
        // leave the transaction waiting out the whole lease (a minute) before anyone tried again.
        const int Transactions = 10, Retries = 3;
        var retrier = new RetryOnEachStop(Retries);
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:LeaseMs"] = "60000",
            services: services => services.AddSingleton<ICoordinatorAlertObserver>(retrier));
        retrier.Admin = coordinator.Admin;
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: false, "constraint violated"));

        var xids = await Task.WhenAll(Enumerable.Range(0, Transactions).Select(async i =>
        {
            var xid = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}");
            await coordinator.Tm.RollbackAsync(xid);
            return xid;
        }));

        foreach (var xid in xids)
        {
            await Eventually.TrueAsync(() => rm.Received.Count(c => c.Xid == xid) == 1 + Retries, TimeSpan.FromSeconds(20),
                $"the first attempt and {Retries} retried ones of {xid} (received {rm.Received.Count(c => c.Xid == xid)})");
            await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.RollbackFailed);
        }
        Assert.Empty(retrier.Failures);
        Assert.Equal(Transactions, await coordinator.Admin.LockCountAsync());
    }

    private sealed class RetryOnEachStop(int retries) : ICoordinatorAlertObserver
    {
        private readonly Dictionary<string, int> _retried = new(StringComparer.Ordinal);

        public Protocol.V1.Admin.AdminClient? Admin { get; set; }

        public List<string> Failures { get; } = [];

        public Task OnAlertAsync(CoordinatorAlert alert, CancellationToken cancellationToken)
        {
            if (alert.Kind != CoordinatorAlertKind.RollbackFailed)
            {
                return Task.CompletedTask;
            }
            lock (_retried)
            {
                var count = _retried.GetValueOrDefault(alert.Xid);
                if (count == retries)
                {
                    return Task.CompletedTask;
                }
                _retried[alert.Xid] = count + 1;
            }
            // Not awaited: the retry races the end of the attempt that raised the alert.
            _ = Task.Run(async () =>
            {
                try
                {
                    await Admin!.RetryAsync(new InterveneRequest { Xid = alert.Xid, Reason = "fixed the row" });
                }
                catch (Exception ex)
                {
                    lock (Failures)
                    {
                        Failures.Add($"{alert.Xid}: {ex.Message}");
                    }
                }
            }, CancellationToken.None);
            return Task.CompletedTask;
        }
    }
}
