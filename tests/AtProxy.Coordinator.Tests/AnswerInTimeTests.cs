namespace AtProxy.Coordinator.Tests;

/// <summary>
/// A rollback whose branches take longer than the caller's deadline is answered before that
/// deadline with the rollback still under way, not left to expire: the caller learns it was decided.
/// </summary>
public class AnswerInTimeTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_rollback_slower_than_the_callers_deadline_is_answered_in_time_as_under_way(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        await using var resourceManager = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "test-app", "db");
        var release = new TaskCompletionSource();
        resourceManager.Script = ScriptedResourceManager.SucceedOnceReleased(release.Task);
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "public.t:1");

        // Past the deadline the call would fail with DeadlineExceeded instead of answering. The
        // answer leaves a tenth of the time (at most a second) to travel back; a deadline of a
        // client's usual length keeps that margin above what a loaded test machine needs.
        var answer = await coordinator.Tm.RollbackAsync(new RollbackRequest { Xid = xid }, deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.Equal(GlobalStatus.Rollbacking, answer.Status);
        release.SetResult();
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(xid));
    }
}
