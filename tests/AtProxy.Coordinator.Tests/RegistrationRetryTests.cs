using AtProxy.Testing.Coordinator;
using Grpc.Core;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// A branch registration sent again because its answer was lost (the proxy names each registration
/// with a request id): the coordinator answers with the branch it registered the first time, also
/// after a crash, so no orphan branch holds locks or is rolled back for nothing.
/// </summary>
public class RegistrationRetryTests
{
    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task A_registration_sent_again_with_its_request_id_gets_the_first_branch_also_after_a_kill(string store)
    {
        var (options, database) = await DurableStores.ProcessOptionsAsync(store);
        await using var databaseDisposal = database;
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
        var rm = new ResourceManager.ResourceManagerClient(coordinator.Channel);
        var admin = new Protocol.V1.Admin.AdminClient(coordinator.Channel);
        // Long enough that a loaded machine's kill and restart cannot time it out before the rollback it ends with.
        var xid = await tm.BeginAsync(timeoutMs: 300_000);

        var first = await rm.RegisterBranchAsync(Registration(xid, "first", "public.t:1", "public.t:2"));
        var again = await rm.RegisterBranchAsync(Registration(xid, "first", "public.t:1", "public.t:2"));
        var other = await rm.RegisterBranchAsync(Registration(xid, "second", "public.t:3"));

        Assert.Equal(first.BranchId, again.BranchId);
        Assert.NotEqual(first.BranchId, other.BranchId);

        coordinator.Kill();
        await coordinator.RestartAsync();
        var afterCrash = await rm.RegisterBranchAsync(Registration(xid, "first", "public.t:1", "public.t:2"));

        Assert.Equal(first.BranchId, afterCrash.BranchId);
        var shown = await admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        Assert.Equal([first.BranchId, other.BranchId], shown.Transaction.Branches.Select(b => b.BranchId));
        Assert.Equal(3, await admin.LockCountAsync(xid));
        await using var resourceManager = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "test-app", "db");
        Assert.Equal(GlobalStatus.Rollbacked, await tm.RollbackAsync(xid));
        Assert.Equal([other.BranchId, first.BranchId], resourceManager.Received.Select(c => c.BranchId));
        Assert.Equal(0, await admin.LockCountAsync(xid));
    }

    [Fact]
    public async Task A_request_id_longer_than_64_characters_is_refused_naming_the_field()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var xid = await coordinator.Tm.BeginAsync();

        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await coordinator.Rm.RegisterBranchAsync(Registration(xid, new string('r', 65), "public.t:1")));

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("request_id", refused.Status.Detail);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(xid));
    }

    private static RegisterBranchRequest Registration(string xid, string requestId, params string[] keys)
    {
        var request = new RegisterBranchRequest { Xid = xid, ResourceId = "db", ApplicationId = "test-app", RequestId = requestId };
        request.LockKeys.Add(keys.Select(CoordinatorClientExtensions.Key));
        return request;
    }
}
