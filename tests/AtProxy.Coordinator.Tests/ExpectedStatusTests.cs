namespace AtProxy.Coordinator.Tests;

/// <summary>
/// The expected-status guard: an intervention that names the status the operator saw is refused,
/// with nothing changed, once the transaction has moved on; of two operators acting on the same
/// view, exactly one gets through.
/// </summary>
public class ExpectedStatusTests
{
    private const int Rounds = 8;

    private static Grpc.Core.Metadata Operator(string name) => new() { { "atproxy-operator", name } };

    private static InterveneRequest Intervene(string xid, GlobalStatus expected, string reason = "checked the rows by hand") =>
        new() { Xid = xid, Reason = reason, ExpectedStatus = expected };

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task An_intervention_on_a_status_that_changed_since_it_was_seen_is_refused_and_changes_nothing(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: InProcessCoordinator.RetryAfterAMinute);
        var xid = await coordinator.Tm.BeginAsync();
        var branch = await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", "t:1");
        Assert.Equal(GlobalStatus.RollbackRetrying, await coordinator.Tm.RollbackAsync(xid)); // no resource manager connected

        var retry = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.RetryAsync(Intervene(xid, GlobalStatus.RollbackFailed)).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, retry.StatusCode);
        Assert.Equal($"Cannot retry '{xid}': it is ROLLBACK_RETRYING now, not the ROLLBACK_FAILED you saw; reload and decide again.", retry.Status.Detail);
        var forget = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.ForgetBranchAsync(
            new ForgetBranchRequest { Xid = xid, BranchId = branch, Reason = "fixed by hand", ExpectedStatus = GlobalStatus.RollbackRetryTimeout }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, forget.StatusCode);
        Assert.Contains("not the ROLLBACK_RETRY_TIMEOUT you saw", forget.Status.Detail);
        var commit = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.ForceCommitAsync(Intervene(xid, GlobalStatus.Begin)).ResponseAsync);
        Assert.Contains("not the BEGIN you saw", commit.Status.Detail);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.RetryAsync(Intervene(xid, (GlobalStatus)99)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Contains("expected_status 99", unknown.Status.Detail);

        var detail = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        Assert.Equal(GlobalStatus.RollbackRetrying, detail.Transaction.Status);
        Assert.Equal(["application:test-app", "coordinator"], detail.History.Select(h => h.Actor)); // no intervention recorded
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedRetryable, Assert.Single(detail.Transaction.Branches).Status);

        // The status the operator saw is the status now: the intervention goes through.
        Assert.Equal(GlobalStatus.RollbackRetrying, (await coordinator.Admin.RetryAsync(Intervene(xid, GlobalStatus.RollbackRetrying), Operator("alice"))).Status);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Two_operators_acting_at_once_on_the_same_view_exactly_one_gets_through(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: InProcessCoordinator.RetryAfterAMinute);
        for (var round = 0; round < Rounds; round++)
        {
            var xid = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(xid, "orders-db", $"t:{round}"); // no resource manager: phase 2 stays unfinished

            // Both saw BEGIN; alice rolls back, bob rolls back too (without the guard both would pass).
            var alice = coordinator.Admin.ForceRollbackAsync(Intervene(xid, GlobalStatus.Begin, "alice: the order was cancelled"), Operator("alice")).ResponseAsync;
            var bob = coordinator.Admin.ForceRollbackAsync(Intervene(xid, GlobalStatus.Begin, "bob: the order was cancelled"), Operator("bob")).ResponseAsync;
            var outcomes = await Task.WhenAll(Outcome(alice), Outcome(bob));

            Assert.Single(outcomes, o => o is null);
            var refusal = Assert.Single(outcomes, o => o is not null)!;
            Assert.Equal(StatusCode.FailedPrecondition, refusal.StatusCode);
            Assert.Contains("not the BEGIN you saw; reload and decide again", refusal.Status.Detail);
            var history = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History;
            var intervention = Assert.Single(history, h => h.Actor is "alice" or "bob");
            Assert.Equal((GlobalStatus.Begin, GlobalStatus.Rollbacking), (intervention.From, intervention.To));
        }
    }

    [Fact]
    public async Task Two_operators_on_two_coordinators_sharing_a_postgres_store_exactly_one_gets_through()
    {
        await using var first = await InProcessCoordinator.StartAsync("postgres", configure: InProcessCoordinator.RetryAfterAMinute);
        await using var second = await InProcessCoordinator.StartAsync("postgres", configure: InProcessCoordinator.RetryAfterAMinute, storeConnection: first.StoreConnection);
        for (var round = 0; round < Rounds; round++)
        {
            var xid = await first.Tm.BeginAsync();
            await first.Rm.RegisterGrantedAsync(xid, "orders-db", $"t:{round}"); // no resource manager: phase 2 stays unfinished

            // Both saw BEGIN, each on a different coordinator (without the guard both would pass).
            var alice = first.Admin.ForceRollbackAsync(Intervene(xid, GlobalStatus.Begin, "alice: the order was cancelled"), Operator("alice")).ResponseAsync;
            var bob = second.Admin.ForceRollbackAsync(Intervene(xid, GlobalStatus.Begin, "bob: the order was cancelled"), Operator("bob")).ResponseAsync;
            var outcomes = await Task.WhenAll(Outcome(alice), Outcome(bob));

            Assert.Single(outcomes, o => o is null);
            var refusal = Assert.Single(outcomes, o => o is not null)!;
            Assert.Equal(StatusCode.FailedPrecondition, refusal.StatusCode);
            Assert.Contains("not the BEGIN you saw; reload and decide again", refusal.Status.Detail);
            var history = (await second.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History;
            Assert.Single(history, h => h.Actor is "alice" or "bob");
        }
    }

    private static async Task<RpcException?> Outcome(Task<InterveneResponse> call)
    {
        try
        {
            await call;
            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
    }
}
