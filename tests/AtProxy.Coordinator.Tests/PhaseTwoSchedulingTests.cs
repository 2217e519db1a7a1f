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
}
