namespace AtProxy.Coordinator.Tests;

/// <summary>Global row locks as seen through branch registration and CheckLocks.</summary>
public class LockConflictTests
{
    private const uint MaxWaitMs = AtProxy.Coordinator.Coordination.TransactionCoordinator.MaxLockWaitMs;

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_key_held_by_another_transaction_reports_the_holder_and_acquires_nothing(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var holder = await coordinator.Tm.BeginAsync();
        var holderBranch = await coordinator.Rm.RegisterGrantedAsync(holder, "db", "public.stock:7");
        var asker = await coordinator.Tm.BeginAsync();

        var response = await coordinator.Rm.RegisterAsync(asker, "db", "public.stock:8", "public.stock:7", "public.stock:9");

        Assert.Equal(0, response.BranchId);
        Assert.Equal(holder, response.Conflict.HolderXid);
        Assert.Equal(holderBranch, response.Conflict.HolderBranchId);
        Assert.Equal(("db", "public.stock", "7"), (response.Conflict.ResourceId, response.Conflict.Key.Table, response.Conflict.Key.PrimaryKey));
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(asker));
        Assert.Empty((await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = asker })).Transaction.Branches);

        // Once the holder's commit is durable the key is free, while its branch is still committing.
        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(holder));
        Assert.Null((await coordinator.Rm.RegisterAsync(asker, "db", "public.stock:8", "public.stock:7")).Conflict);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_same_transaction_again_is_reentrant(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync();
        var first = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1", "t:2");

        var second = await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:2", "t:3");

        Assert.NotEqual(first, second);
        Assert.Equal(3, await coordinator.Admin.LockCountAsync(xid));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_same_key_on_another_resource_does_not_conflict(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var a = await coordinator.Tm.BeginAsync();
        var b = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(a, "db-1", "t:1");

        await coordinator.Rm.RegisterGrantedAsync(b, "db-2", "t:1");
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task CheckLocks_answers_without_acquiring(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:1");
        var other = await coordinator.Tm.BeginAsync();

        var own = await coordinator.Rm.CheckAsync(holder, "db", "t:1", "t:2");
        var foreign = await coordinator.Rm.CheckAsync(other, "db", "t:2", "t:1");
        var globalLockScope = await coordinator.Rm.CheckAsync("", "db", "t:1");
        var free = await coordinator.Rm.CheckAsync("", "db", "t:2");

        Assert.True(own.Lockable);
        Assert.False(foreign.Lockable);
        Assert.Equal((holder, "1"), (foreign.Conflict.HolderXid, foreign.Conflict.Key.PrimaryKey));
        Assert.False(globalLockScope.Lockable);
        Assert.True(free.Lockable);
        Assert.Equal(1, await coordinator.Admin.LockCountAsync());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task CheckLocks_with_wait_answers_lockable_once_the_holder_releases(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:1");
        var waiter = await coordinator.Tm.BeginAsync();
        var request = new CheckLocksRequest { Xid = waiter, ResourceId = "db", WaitMs = MaxWaitMs };
        request.LockKeys.Add(new LockKey { Table = "t", PrimaryKey = "1" });

        using var requests = ServerRequests.Watch(coordinator);

        var waiting = coordinator.Rm.CheckLocksAsync(request).ResponseAsync;
        // The check reached the coordinator, which finds the key held: it must not answer yet.
        await Eventually.TrueAsync(() => requests.Started >= 1, null, "the lock check to reach the coordinator");
        Assert.False(waiting.IsCompleted, "the check answered while the key was still held");
        // The commit decision releases the key; the branch commits afterwards.
        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(holder));

        // Answered because the key was released, long before its wait was up.
        var answer = await waiting.WaitAsync(TimeSpan.FromSeconds(MaxWaitMs / 2000.0));
        Assert.True(answer.Lockable);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task CheckLocks_with_wait_still_held_when_the_wait_is_up_names_the_holder(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:1");
        var request = new CheckLocksRequest { ResourceId = "db", WaitMs = 50 };
        request.LockKeys.Add(new LockKey { Table = "t", PrimaryKey = "1" });

        var answer = await coordinator.Rm.CheckLocksAsync(request);

        Assert.False(answer.Lockable);
        Assert.Equal(holder, answer.Conflict.HolderXid);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_with_wait_registers_the_branch_in_the_same_call_once_the_holder_releases(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:1");
        var waiter = await coordinator.Tm.BeginAsync();
        var request = WaitingRegistration(waiter, MaxWaitMs, "t:2", "t:1");

        using var requests = ServerRequests.Watch(coordinator);
        var waiting = coordinator.Rm.RegisterBranchAsync(request).ResponseAsync;
        await Eventually.TrueAsync(() => requests.Started >= 1, null, "the registration to reach the coordinator");
        await Never.WithinAsync(() => waiting.IsCompleted, TimeSpan.FromMilliseconds(300), "the registration answered", "its key is held until the holder's decision");
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(waiter));

        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(holder));

        // Registered because the key was released, long before its wait was up, with every key.
        var answer = await waiting.WaitAsync(TimeSpan.FromSeconds(MaxWaitMs / 2000.0));
        Assert.Null(answer.Conflict);
        Assert.True(answer.BranchId > 0);
        Assert.True(answer.Waited);
        Assert.Equal(2, await coordinator.Admin.LockCountAsync(waiter));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_with_wait_still_held_when_the_wait_is_up_answers_the_conflict_and_that_it_waited(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:1");
        var waiter = await coordinator.Tm.BeginAsync();

        var answer = await coordinator.Rm.RegisterBranchAsync(WaitingRegistration(waiter, 50, "t:1", "t:2"));

        Assert.Equal(0, answer.BranchId);
        Assert.Equal((holder, "1"), (answer.Conflict.HolderXid, answer.Conflict.Key.PrimaryKey));
        Assert.True(answer.Waited);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(waiter));
        Assert.Empty((await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = waiter })).Transaction.Branches);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task RegisterBranch_with_wait_for_a_holder_that_is_rolling_back_is_answered_at_once(string store)
    {
        await using var held = await HeldRollbackAsync(store);
        var (coordinator, holder) = (held.Coordinator, held.Holder);
        var rollback = coordinator.Tm.RollbackAsync(new RollbackRequest { Xid = holder }).ResponseAsync;
        await coordinator.Tm.WaitForStatusAsync(holder, GlobalStatus.Rollbacking);
        var waiter = await coordinator.Tm.BeginAsync();

        // The waiter would hold the row that rollback restores: it must hear of the conflict at once,
        // not after its ten seconds.
        var answer = await coordinator.Rm.RegisterBranchAsync(WaitingRegistration(waiter, MaxWaitMs, "t:1"))
            .ResponseAsync.WaitAsync(TimeSpan.FromSeconds(MaxWaitMs / 2000.0));

        Assert.True(answer.Conflict.HolderRollingBack);
        Assert.False(answer.Waited);
        held.Release();
        await rollback;
        await coordinator.Tm.WaitForStatusAsync(holder, GlobalStatus.Rollbacked);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_registration_and_a_lock_check_waiting_for_a_holder_hear_at_once_when_it_turns_to_rolling_back(string store)
    {
        await using var held = await HeldRollbackAsync(store);
        var (coordinator, holder) = (held.Coordinator, held.Holder);
        var waiter = await coordinator.Tm.BeginAsync();
        var check = new CheckLocksRequest { Xid = waiter, ResourceId = "db", WaitMs = MaxWaitMs };
        check.LockKeys.Add(CoordinatorClientExtensions.Key("t:1"));

        using var requests = ServerRequests.Watch(coordinator);
        var registering = coordinator.Rm.RegisterBranchAsync(WaitingRegistration(waiter, MaxWaitMs, "t:1")).ResponseAsync;
        var checking = coordinator.Rm.CheckLocksAsync(check).ResponseAsync;
        await Eventually.TrueAsync(() => requests.Started >= 2, null, "the registration and the check to reach the coordinator");
        Assert.False(registering.IsCompleted || checking.IsCompleted, "answered while the holder had not decided");

        // The holder's rollback is decided; its lock stays held while its phase 2 waits.
        var rollback = coordinator.Tm.RollbackAsync(new RollbackRequest { Xid = holder }).ResponseAsync;

        // Both hear of it long before their ten seconds: a waiter may hold the row that rollback restores.
        var registered = await registering.WaitAsync(TimeSpan.FromSeconds(MaxWaitMs / 2000.0));
        var checkedAnswer = await checking.WaitAsync(TimeSpan.FromSeconds(MaxWaitMs / 2000.0));
        Assert.True(registered.Conflict.HolderRollingBack);
        Assert.Equal(0, registered.BranchId);
        Assert.False(checkedAnswer.Lockable);
        Assert.True(checkedAnswer.Conflict.HolderRollingBack);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(waiter));
        held.Release();
        await rollback;
        await coordinator.Tm.WaitForStatusAsync(holder, GlobalStatus.Rollbacked);
    }

    [Fact]
    public async Task RegisterBranch_wait_beyond_the_maximum_is_invalid_argument()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var xid = await coordinator.Tm.BeginAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            coordinator.Rm.RegisterBranchAsync(WaitingRegistration(xid, MaxWaitMs + 1, "t:1")).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("wait_ms", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(xid));
    }

    /// <summary>
    /// A coordinator whose resource manager holds every phase-2 command until <see cref="Release"/>, and a
    /// transaction holding t:1 on "db": rolled back, it stays rolling back with its lock held.
    /// </summary>
    private sealed class HeldRollback(InProcessCoordinator coordinator, ScriptedResourceManager resourceManager, TaskCompletionSource released, string holder) : IAsyncDisposable
    {
        public InProcessCoordinator Coordinator => coordinator;

        public string Holder => holder;

        public void Release() => released.TrySetResult();

        public async ValueTask DisposeAsync()
        {
            Release();
            await resourceManager.DisposeAsync();
            await coordinator.DisposeAsync();
        }
    }

    private static async Task<HeldRollback> HeldRollbackAsync(string store)
    {
        var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:BranchCommandTimeoutMs"] = "30000");
        var resourceManager = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "test-app", "db");
        var released = new TaskCompletionSource();
        resourceManager.Script = ScriptedResourceManager.SucceedOnceReleased(released.Task);
        var held = new HeldRollback(coordinator, resourceManager, released, "");
        try
        {
            var holder = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:1");
            return new HeldRollback(coordinator, resourceManager, released, holder);
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    private static RegisterBranchRequest WaitingRegistration(string xid, uint waitMs, params string[] keys)
    {
        var request = new RegisterBranchRequest { Xid = xid, ResourceId = "db", ApplicationId = "test-app", WaitMs = waitMs, RequestId = Guid.NewGuid().ToString("N") };
        request.LockKeys.Add(keys.Select(CoordinatorClientExtensions.Key));
        return request;
    }

    [Fact]
    public async Task CheckLocks_wait_beyond_the_maximum_is_invalid_argument()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var request = new CheckLocksRequest { ResourceId = "db", WaitMs = MaxWaitMs + 1 };
        request.LockKeys.Add(new LockKey { Table = "t", PrimaryKey = "1" });

        var error = await Assert.ThrowsAsync<RpcException>(() => coordinator.Rm.CheckLocksAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("wait_ms", error.Status.Detail, StringComparison.Ordinal);
    }
}
