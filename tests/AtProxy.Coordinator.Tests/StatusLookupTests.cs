namespace AtProxy.Coordinator.Tests;

/// <summary>GetStatuses: many transactions' statuses in one call, the same answers as GetStatus, on every store.</summary>
public class StatusLookupTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task GetStatuses_open_committed_rolled_back_and_unknown_answers_each_in_request_order(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var open = await coordinator.Tm.BeginAsync("open");
        var committed = await coordinator.Tm.BeginAsync("committed");
        await coordinator.Tm.CommitAsync(committed);
        var rolledBack = await coordinator.Tm.BeginAsync("rolled-back");
        await coordinator.Tm.RollbackAsync(rolledBack);
        const string unknown = "tc:987654321";

        var request = new GetStatusesRequest { Xids = { unknown, committed, open, rolledBack, committed } };
        var response = await coordinator.Tm.GetStatusesAsync(request);

        Assert.Equal(request.Xids, response.Statuses.Select(s => s.Xid));
        Assert.Equal(
            [GlobalStatus.Unspecified, GlobalStatus.Committed, GlobalStatus.Begin, GlobalStatus.Rollbacked, GlobalStatus.Committed],
            response.Statuses.Select(s => s.Status));
        var notFound = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.GetStatusAsync(new GetStatusRequest { Xid = unknown }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public async Task GetStatuses_none_or_too_many_xids_is_invalid_argument(int count)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var request = new GetStatusesRequest { Xids = { Enumerable.Range(1, count).Select(i => $"tc:{i}") } };
        var refused = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.GetStatusesAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
    }

    [Fact]
    public async Task GetStatuses_a_malformed_xid_is_invalid_argument()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.GetStatusesAsync(new GetStatusesRequest { Xids = { "tc:1", "no-sequence" } }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
    }
}
