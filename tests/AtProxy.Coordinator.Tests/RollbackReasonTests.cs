namespace AtProxy.Coordinator.Tests;

/// <summary>The application's rollback is recorded as the application's, with the reason it sent.</summary>
public class RollbackReasonTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Rollback_records_the_application_as_the_actor_with_its_reason_and_refuses_a_reason_too_long(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync(applicationId: "order-service");

        var tooLong = await Assert.ThrowsAsync<RpcException>(() =>
            coordinator.Tm.RollbackAsync(new RollbackRequest { Xid = xid, Reason = new string('x', 1025) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        Assert.Contains("reason is 1025 characters long; at most 1024", tooLong.Status.Detail);
        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(xid));

        await coordinator.Tm.RollbackAsync(new RollbackRequest { Xid = xid, Reason = "System.TimeoutException: the payment service did not answer" });

        var decision = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History[0];
        Assert.Equal((GlobalStatus.Begin, GlobalStatus.Rollbacking, "application:order-service", "System.TimeoutException: the payment service did not answer"),
            (decision.From, decision.To, decision.Actor, decision.Reason));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_timed_out_transaction_is_rolled_back_by_the_coordinator_saying_after_how_long(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var xid = await coordinator.Tm.BeginAsync(timeoutMs: 300);

        await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.TimeoutRollbacked);

        var decision = (await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).History[0];
        Assert.Equal((GlobalStatus.TimeoutRollbacking, "coordinator", "timed out after 300 ms"), (decision.To, decision.Actor, decision.Reason));
    }
}
