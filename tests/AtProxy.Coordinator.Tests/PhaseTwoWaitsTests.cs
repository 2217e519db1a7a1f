namespace AtProxy.Coordinator.Tests;

/// <summary>
/// What a transaction and its branches wait for, as the admin API tells a person: the
/// application's decision, a resource manager, the next attempt after a refusal, an earlier
/// branch, or a person.
/// </summary>
public class PhaseTwoWaitsTests
{
    private static async Task<GlobalTransactionInfo> InfoAsync(InProcessCoordinator coordinator, string xid) =>
        (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction;

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_transaction_in_BEGIN_waits_for_the_application_until_its_timeout(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync(timeoutMs: 60_000);
        await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", "t:1");

        var info = await InfoAsync(coordinator, xid);

        Assert.Matches(@"^waits for the application to commit or roll back \(timeout in (59|60) s\)$", info.WaitingFor);
        var branch = Assert.Single(info.Branches);
        Assert.Equal(("", 0, 0L), (branch.WaitingFor, branch.FailedAttempts, branch.NextAttemptUnixMs));
        var listed = (await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest())).Transactions.Single(t => t.Xid == xid);
        Assert.StartsWith("waits for the application", listed.WaitingFor);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_rollback_with_no_resource_manager_connected_says_so_and_counts_the_failed_attempts(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync();
        var branchId = await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", "t:1");
        await coordinator.Tm.RollbackAsync(xid);

        // Attempts go on with back-off (50 to 400 ms here): the count grows.
        await Eventually.TrueAsync(async () => (await InfoAsync(coordinator, xid)).Branches[0].FailedAttempts >= 2, null, $"two failed attempts on the branch of {xid}");
        var info = await InfoAsync(coordinator, xid);
        var branch = Assert.Single(info.Branches);
        var expected = store == "postgres" ? "no resource manager for orders-db is connected to this coordinator (tc)" : "no resource manager for orders-db is connected";
        Assert.Equal(expected, branch.WaitingFor);
        Assert.Equal($"phase 2 of branch {branchId} waits: {expected}", info.WaitingFor);
        Assert.True(branch.NextAttemptUnixMs > 0, "the next attempt is scheduled");
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_refused_rollback_names_the_refusal_and_the_next_attempt_and_older_branches_wait_for_it(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: InProcessCoordinator.RetryAfterAMinute);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "orders-db", "stock-db");
        rm.Script = command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: true, "the database is in recovery"));
        var xid = await coordinator.Tm.BeginAsync();
        var older = await coordinator.Rm.RegisterGrantedAsync(xid, "stock-db", "t:1");
        var newer = await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", "t:2");

        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(xid));
        // The attempt records the refusal, then schedules the next one and lets go of the transaction.
        await Eventually.TrueAsync(
            async () => (await InfoAsync(coordinator, xid)).Branches.Single(b => b.BranchId == newer).WaitingFor.StartsWith("resource manager for orders-db refused", StringComparison.Ordinal),
            null, $"the refusal of branch {newer} to be what it waits for");
        var info = await InfoAsync(coordinator, xid);

        var first = info.Branches.Single(b => b.BranchId == newer);
        Assert.Matches(@"^resource manager for orders-db refused: the database is in recovery; next attempt in (4[0-9]|5[0-9]|60|6[0-9]|7[0-2]) s$", first.WaitingFor);
        Assert.Equal(1, first.FailedAttempts);
        Assert.True(first.NextAttemptUnixMs > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 30_000, "the next attempt is about a minute away");
        var second = info.Branches.Single(b => b.BranchId == older);
        Assert.Equal($"waits for branch {newer} to be rolled back first (newest first)", second.WaitingFor);
        Assert.Equal((0, 0L), (second.FailedAttempts, second.NextAttemptUnixMs));
        Assert.Equal($"phase 2 of branch {newer} waits: {first.WaitingFor}", info.WaitingFor);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_stopped_transaction_waits_for_a_person(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:MaxRollbackRetryMs"] = "300");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "orders-db", "stock-db");
        rm.Script = command => Task.FromResult(command.ResourceId == "orders-db"
            ? ScriptedResourceManager.Fail(command, retryable: true, "the database is in recovery")
            : ScriptedResourceManager.Fail(command, retryable: false, "dirty write on t:1"));
        var timedOut = await coordinator.Tm.BeginAsync();
        var timedOutBranch = await coordinator.Rm.RegisterGrantedAsync(timedOut, "orders-db", "t:2");
        var dirty = await coordinator.Tm.BeginAsync();
        var dirtyBranch = await coordinator.Rm.RegisterGrantedAsync(dirty, "stock-db", "t:1");

        await coordinator.Tm.RollbackAsync(timedOut);
        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(dirty));
        await coordinator.Tm.WaitForStatusAsync(timedOut, GlobalStatus.RollbackRetryTimeout);

        var stopped = await InfoAsync(coordinator, timedOut);
        Assert.Equal("retry timeout reached: a person must retry or forget the branch; last error: the database is in recovery", stopped.Branches[0].WaitingFor);
        Assert.Equal($"branch {timedOutBranch}: {stopped.Branches[0].WaitingFor}", stopped.WaitingFor);
        Assert.Equal(0, stopped.Branches[0].NextAttemptUnixMs);
        Assert.True(stopped.Branches[0].FailedAttempts >= 1);
        var failed = await InfoAsync(coordinator, dirty);
        Assert.Equal("cannot roll back: dirty write on t:1; a person must repair the data, then retry or forget the branch", failed.Branches[0].WaitingFor);
        Assert.Equal($"branch {dirtyBranch}: {failed.Branches[0].WaitingFor}", failed.WaitingFor);

        // Once forgotten, nothing is waited for.
        await coordinator.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = dirty, BranchId = dirtyBranch, Reason = "restored by hand" });
        var finished = await InfoAsync(coordinator, dirty);
        Assert.Equal((GlobalStatus.Finished, "", ""), (finished.Status, finished.WaitingFor, finished.Branches[0].WaitingFor));
    }
}
