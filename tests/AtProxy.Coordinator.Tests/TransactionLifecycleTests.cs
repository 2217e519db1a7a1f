namespace AtProxy.Coordinator.Tests;

/// <summary>Begin, branches, commit and rollback end to end over gRPC, on both stores.</summary>
public class TransactionLifecycleTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Commit_two_branches_releases_locks_at_once_and_commits_every_branch(string store)
    {
        // Each branch gets exactly one command: none may time out on a slow machine and be sent again.
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        await using var orders = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "orders", "orders-db");
        await using var stock = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "stock", "stock-db");
        var xid = await coordinator.Tm.BeginAsync("place-order");

        var first = await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", "public.orders:1", "public.orders:2");
        var second = await coordinator.Rm.RegisterGrantedAsync(xid, "stock-db", "public.stock:sku-1");
        await coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = first, Status = BranchStatus.PhaseOneDone });
        await coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = second, Status = BranchStatus.PhaseOneDone });
        Assert.Equal(3, await coordinator.Admin.LockCountAsync(xid));

        var status = await coordinator.Tm.CommitAsync(xid);

        Assert.True(status is GlobalStatus.AsyncCommitting or GlobalStatus.Committed, $"commit answered {status}");
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(xid));
        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
        var orderCommand = Assert.Single(orders.Received);
        Assert.Equal((BranchAction.Commit, xid, first, "orders-db"), (orderCommand.Action, orderCommand.Xid, orderCommand.BranchId, orderCommand.ResourceId));
        var stockCommand = Assert.Single(stock.Received);
        Assert.Equal((BranchAction.Commit, second), (stockCommand.Action, stockCommand.BranchId));
        var details = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        Assert.All(details.Transaction.Branches, b => Assert.Equal(BranchStatus.PhaseTwoCommitted, b.Status));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Rollback_three_branches_rolls_back_in_reverse_order_then_releases_locks(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db-a", "db-b");
        var xid = await coordinator.Tm.BeginAsync();
        var b1 = await coordinator.Rm.RegisterGrantedAsync(xid, "db-a", "t:1");
        var b2 = await coordinator.Rm.RegisterGrantedAsync(xid, "db-b", "t:2");
        var b3 = await coordinator.Rm.RegisterGrantedAsync(xid, "db-a", "t:3");
        var locksDuringRollback = new List<int>();
        rm.Script = async command =>
        {
            // Locks must stay held while any branch is still rolling back.
            locksDuringRollback.Add(await coordinator.Admin.LockCountAsync(xid));
            return ScriptedResourceManager.Succeed(command);
        };

        var status = await coordinator.Tm.RollbackAsync(xid);

        Assert.Equal(GlobalStatus.Rollbacked, status);
        Assert.Equal([b3, b2, b1], rm.Received.Select(c => c.BranchId));
        Assert.All(rm.Received, c => Assert.Equal(BranchAction.Rollback, c.Action));
        Assert.Equal([3, 3, 3], locksDuringRollback);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(xid));
        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.StatusAsync(xid));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Commit_without_branches_is_committed_at_once(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync();

        Assert.Equal(GlobalStatus.Committed, await coordinator.Tm.CommitAsync(xid));
        Assert.Equal(GlobalStatus.Committed, await coordinator.Tm.CommitAsync(xid));
        Assert.Equal(GlobalStatus.Committed, await coordinator.Tm.RollbackAsync(xid));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Commit_after_rollback_returns_the_rollback_status(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync();
        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.RollbackAsync(xid));

        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.CommitAsync(xid));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Rollback_once_commit_was_decided_answers_the_commit_status_without_waiting_for_phase_two(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = _ => Task.FromException<BranchCommandResult>(new OperationCanceledException()); // never answers
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(xid));

        var started = DateTime.UtcNow;
        var status = await coordinator.Tm.RollbackAsync(xid);

        Assert.Equal(GlobalStatus.AsyncCommitting, status);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "rollback waited for the commit's phase 2");
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ReportBranch_phase_one_failed_releases_that_branchs_locks_and_skips_its_phase_two(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var xid = await coordinator.Tm.BeginAsync();
        var failed = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1", "t:2");
        var kept = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:2", "t:3");

        await coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = failed, Status = BranchStatus.PhaseOneFailed });
        await coordinator.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = failed, Status = BranchStatus.PhaseOneFailed }); // repeated: accepted

        var other = await coordinator.Tm.BeginAsync();
        Assert.Null((await coordinator.Rm.RegisterAsync(other, "db", "t:1")).Conflict);
        // t:2 was registered by both branches: it stays held for the branch that did not fail.
        var conflict = (await coordinator.Rm.RegisterAsync(other, "db", "t:2")).Conflict;
        Assert.Equal((xid, kept), (conflict.HolderXid, conflict.HolderBranchId));

        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.RollbackAsync(xid));
        Assert.Equal([kept], rm.Received.Select(c => c.BranchId));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Timeout_undecided_transaction_is_rolled_back_by_the_coordinator(string store)
    {
        // One rollback command only: it must not time out on a slow machine and be sent again.
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        // Long enough for the registration to come before the timeout even on a slow machine.
        var xid = await coordinator.Tm.BeginAsync(timeoutMs: 5_000);
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.TimeoutRollbacked, TimeSpan.FromSeconds(30));

        Assert.Equal(BranchAction.Rollback, Assert.Single(rm.Received).Action);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        Assert.Equal(GlobalStatus.TimeoutRollbacked, await coordinator.Tm.CommitAsync(xid));
        var error = await Assert.ThrowsAsync<RpcException>(() => coordinator.Rm.RegisterAsync(xid, "db", "t:9"));
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        var history = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History;
        Assert.Equal([GlobalStatus.TimeoutRollbacking, GlobalStatus.TimeoutRollbacked], history.Select(h => h.To));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Begin_timeout_zero_gets_the_default(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:DefaultTimeoutMs"] = "45000");

        var response = await coordinator.Tm.BeginAsync(new BeginRequest { ApplicationId = "app", TimeoutMs = 0 });

        Assert.Equal(45_000u, response.TimeoutMs);
        Assert.StartsWith("tc:", response.Xid);
        Assert.InRange(response.BeginTimeUnixMs, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }
}
