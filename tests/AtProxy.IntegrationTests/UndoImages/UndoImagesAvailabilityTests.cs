using System.Diagnostics;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.IntegrationTests.UndoImages;

/// <summary>
/// When the branch's resource manager cannot answer: none connected, one that ignores the request
/// (older than the coordinator), one whose stream breaks while the request is out.
/// </summary>
public class UndoImagesAvailabilityTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task With_no_resource_manager_connected_for_the_resource_the_call_is_UNAVAILABLE_naming_it()
    {
        var (xid, branchId) = await BranchWithoutResourceManagerAsync("nobody-db");

        var refused = await Assert.ThrowsAsync<RpcException>(() => GetBranchUndoAsync(xid, branchId, TimeSpan.FromSeconds(15)));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("No resource manager for 'nobody-db' is connected to this coordinator", refused.Status.Detail);

        await ForgetAsync(xid, branchId);
    }

    [Fact]
    public async Task A_resource_manager_that_ignores_the_request_leaves_the_call_DEADLINE_EXCEEDED_saying_it_did_not_answer()
    {
        await using var silent = await SilentResourceManager.ConnectAsync(env.Coordinator.Channel, "silent-db");
        var (xid, branchId) = await silent.BeginWithBranchAsync("undo-silent");

        // The caller allows 20 s; the coordinator waits at most 10 s and says why it stopped.
        var asked = Stopwatch.StartNew();
        var call = GetBranchUndoAsync(xid, branchId, TimeSpan.FromSeconds(20));
        var request = await silent.NextAsync();
        Assert.Equal(CoordinatorMessage.KindOneofCase.UndoImages, request.KindCase);
        Assert.Equal((xid, branchId, "silent-db"), (request.UndoImages.Xid, request.UndoImages.BranchId, request.UndoImages.ResourceId));
        var unanswered = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.DeadlineExceeded, unanswered.StatusCode);
        Assert.Contains("The resource manager for 'silent-db' did not answer within", unanswered.Status.Detail);
        Assert.Contains("older than this coordinator", unanswered.Status.Detail);
        Assert.InRange(asked.Elapsed, TimeSpan.FromSeconds(9.5), TimeSpan.FromSeconds(19));

        silent.Drop();
        await ForgetAsync(xid, branchId);
    }

    [Fact]
    public async Task A_stream_lost_while_the_request_is_out_fails_the_call_UNAVAILABLE_at_once_not_at_the_deadline()
    {
        var silent = await SilentResourceManager.ConnectAsync(env.Coordinator.Channel, "dropped-db");
        var (xid, branchId) = await silent.BeginWithBranchAsync("undo-dropped");

        var call = GetBranchUndoAsync(xid, branchId, TimeSpan.FromSeconds(30));
        Assert.Equal(CoordinatorMessage.KindOneofCase.UndoImages, (await silent.NextAsync()).KindCase);
        var dropped = Stopwatch.StartNew();
        await silent.DisposeAsync();
        var lost = await Assert.ThrowsAsync<RpcException>(() => call);
        dropped.Stop();
        Assert.Equal(StatusCode.Unavailable, lost.StatusCode);
        Assert.Contains("for 'dropped-db' disconnected before it answered", lost.Status.Detail);
        // The coordinator waits at most 10 s for an answer; a lost stream must not cost that.
        Assert.True(dropped.Elapsed < TimeSpan.FromSeconds(5), $"the call failed {dropped.Elapsed.TotalMilliseconds:0} ms after the stream was lost");

        await ForgetAsync(xid, branchId);
    }

    private Task<GetBranchUndoResponse> GetBranchUndoAsync(string xid, long branchId, TimeSpan deadline) =>
        env.Admin.GetBranchUndoAsync(new GetBranchUndoRequest { Xid = xid, BranchId = branchId }, deadline: DateTime.UtcNow + deadline).ResponseAsync;

    // A branch whose resource manager went away: registered on a stream that is closed at once.
    private async Task<(string Xid, long BranchId)> BranchWithoutResourceManagerAsync(string resourceId)
    {
        await using var gone = await SilentResourceManager.ConnectAsync(env.Coordinator.Channel, resourceId);
        var branch = await gone.BeginWithBranchAsync($"undo-{resourceId}");
        gone.Drop();
        await Testing.Eventually.TrueAsync(
            async () => !(await env.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).ResourceManagers.Any(m => m.ResourceIds.Contains(resourceId)),
            TimeSpan.FromSeconds(15), $"the coordinator to see the resource manager for {resourceId} go");
        return branch;
    }

    // Decides rollback and skips the branch's phase 2 (its resource manager is gone), so nothing is left behind.
    private async Task ForgetAsync(string xid, long branchId)
    {
        await env.Admin.ForceRollbackAsync(new InterveneRequest { Xid = xid, Reason = "test over" });
        await env.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = branchId, Reason = "no resource manager: nothing was written" });
        // Its only branch forgotten, the transaction has nothing left to roll back.
        await env.WaitForStatusAsync(xid, GlobalStatus.Finished);
        Assert.Empty(await env.LocksAsync(xid));
    }
}
