namespace AtProxy.Coordinator.Tests;

/// <summary>The phase-2 stream: subscription, fail-over between instances, waiting for a resource manager, failures.</summary>
public class ResourceManagerStreamTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Connect_first_message_is_not_subscribe_fails_with_invalid_argument(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        using var call = coordinator.Rm.Connect();

        await call.RequestStream.WriteAsync(new ResourceManagerMessage { Result = new BranchCommandResult { CorrelationId = 1 } });

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Subscribe", error.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Connect_subscribe_without_resources_fails_with_invalid_argument(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);

        var error = await Assert.ThrowsAsync<RpcException>(() => ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app"));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Connect_subscribed_names_the_coordinator_and_is_listed_in_its_status(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:NodeId"] = "tc-7");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "orders", "orders-db", "audit-db");

        var status = await coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest());

        Assert.Equal("tc-7", rm.CoordinatorId);
        var listed = Assert.Single(status.ResourceManagers);
        Assert.Equal(("orders", rm.InstanceId, "tc-7"), (listed.ApplicationId, listed.InstanceId, listed.CoordinatorId));
        Assert.Equal(["orders-db", "audit-db"], listed.ResourceIds);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task PhaseTwo_several_instances_of_one_resource_any_one_serves_and_another_takes_over_when_one_leaves(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var first = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        await using var second = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");

        var xids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var xid = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}");
            await coordinator.Tm.CommitAsync(xid);
            xids.Add(xid);
        }
        foreach (var xid in xids)
        {
            await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
        }
        Assert.Equal(6, first.Received.Count + second.Received.Count);
        Assert.NotEmpty(first.Received);
        Assert.NotEmpty(second.Received);

        await first.DisposeAsync();
        // The coordinator drops the closed stream on its own time: until then a command may still go to it.
        await Eventually.EqualAsync(second.InstanceId, async () =>
            string.Join(",", (await coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).ResourceManagers.Select(r => r.InstanceId)),
            Eventually.DefaultTimeout, "the resource managers the coordinator lists");
        var later = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(later, "db", "t:later");
        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.RollbackAsync(later));
        Assert.Contains(second.Received, c => c.Xid == later);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task PhaseTwo_no_resource_manager_connected_waits_in_retrying_and_completes_when_one_connects(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: InProcessCoordinator.RetryAfterAMinute);
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "inventory-db", "t:1");

        var status = await coordinator.Tm.RollbackAsync(xid);

        Assert.Equal(GlobalStatus.RollbackRetrying, status);
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(xid));
        var branch = Assert.Single((await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.Branches);
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedRetryable, branch.Status);
        Assert.Contains("No resource manager", branch.LastError);

        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "inventory", "inventory-db");

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacked, TimeSpan.FromSeconds(10));
        Assert.Equal(xid, Assert.Single(rm.Received).Xid);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task PhaseTwo_resource_manager_does_not_answer_times_out_and_retries_until_it_does(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "200");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var answered = 0;
        rm.Script = async command =>
        {
            if (Interlocked.Increment(ref answered) <= 2)
            {
                await Task.Delay(Timeout.Infinite, new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token); // never in time
            }
            return ScriptedResourceManager.Succeed(command);
        };
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(xid));

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
        Assert.True(rm.Received.Count >= 3, $"expected at least 3 attempts, got {rm.Received.Count}");
        var history = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History.Select(h => h.To).ToList();
        Assert.Equal([GlobalStatus.AsyncCommitting, GlobalStatus.CommitRetrying, GlobalStatus.Committed], history);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task PhaseTwo_retryable_rollback_failure_backs_off_and_retries(string store)
    {
        // Exactly three commands: none may time out on a slow machine and be sent again.
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var calls = 0;
        rm.Script = command => Task.FromResult(Interlocked.Increment(ref calls) < 3
            ? ScriptedResourceManager.Fail(command, retryable: true, "database is restarting")
            : ScriptedResourceManager.Succeed(command));
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(xid));

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        Assert.Equal(3, rm.Received.Count);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task PhaseTwo_dirty_write_stops_in_rollback_failed_and_keeps_the_locks(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db-a", "db-b");
        var xid = await coordinator.Tm.BeginAsync();
        var clean = await coordinator.Rm.RegisterGrantedAsync(xid, "db-a", "t:1");
        var dirty = await coordinator.Rm.RegisterGrantedAsync(xid, "db-b", "t:2");
        rm.Script = command => Task.FromResult(command.BranchId == dirty
            ? ScriptedResourceManager.Fail(command, retryable: false, "row t:2 was changed outside the global transaction")
            : ScriptedResourceManager.Succeed(command));

        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(xid));

        // Reverse order: the dirty branch (registered last) is tried first and stops everything.
        Assert.Equal(dirty, Assert.Single(rm.Received).BranchId);
        // Retries would come within 50-400 ms (the test settings' back-off): none may come.
        await Never.WithinAsync(() => rm.Received.Count > 1, TimeSpan.FromMilliseconds(500),
            "a second phase-2 command", "an unretryable rollback failure stops phase 2 until a person steps in");
        Assert.Single(rm.Received);
        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.StatusAsync(xid));
        Assert.Equal(2, await coordinator.Admin.LockCountAsync(xid));
        var details = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        var failed = details.Transaction.Branches.Single(b => b.BranchId == dirty);
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedUnretryable, failed.Status);
        Assert.Contains("outside the global transaction", failed.LastError);
        Assert.Equal(BranchStatus.Registered, details.Transaction.Branches.Single(b => b.BranchId == clean).Status);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task PhaseTwo_unretryable_commit_failure_stops_in_commit_failed(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        rm.Script = command => Task.FromResult(ScriptedResourceManager.Fail(command, retryable: false, "undo log table is gone"));
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");

        await coordinator.Tm.CommitAsync(xid);

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.CommitFailed);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
    }
}
