using Grpc.Core.Interceptors;
using Grpc.Health.V1;

namespace AtProxy.Coordinator.Tests;

/// <summary>Bearer tokens: one for applications, one for operators.</summary>
public class SecurityTests
{
    private const string AppToken = "app-secret";
    private const string AdminToken = "admin-secret";

    private static Task<InProcessCoordinator> StartWithTokensAsync(string store) => InProcessCoordinator.StartAsync(store, configure: s =>
    {
        s["Coordinator:ApplicationToken"] = AppToken;
        s["Coordinator:AdminToken"] = AdminToken;
    });

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ApplicationCalls_without_or_with_a_wrong_token_are_unauthenticated(string store)
    {
        await using var coordinator = await StartWithTokensAsync(store);

        var missing = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.BeginAsync());
        var wrong = await Assert.ThrowsAsync<RpcException>(() => new TransactionManager.TransactionManagerClient(coordinator.WithToken("guess")).BeginAsync());
        var stream = await Assert.ThrowsAsync<RpcException>(() => ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db"));

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, stream.StatusCode);
        var admin = new Protocol.V1.Admin.AdminClient(coordinator.WithToken(AdminToken));
        Assert.Empty((await admin.ListTransactionsAsync(new ListTransactionsRequest())).Transactions);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task ApplicationCalls_with_the_application_or_admin_token_are_served(string store)
    {
        await using var coordinator = await StartWithTokensAsync(store);
        var tm = new TransactionManager.TransactionManagerClient(coordinator.WithToken(AppToken));
        var rm = new ResourceManager.ResourceManagerClient(coordinator.WithToken(AppToken));
        await using var stream = await ScriptedResourceManager.ConnectAsync(coordinator.WithToken(AppToken), "app", "db");

        var xid = await tm.BeginAsync();
        await rm.RegisterGrantedAsync(xid, "db", "t:1");
        await tm.CommitAsync(xid);
        await tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
        Assert.Single(stream.Received);

        var asAdmin = new TransactionManager.TransactionManagerClient(coordinator.WithToken(AdminToken));
        Assert.Equal(GlobalStatus.Committed, await asAdmin.StatusAsync(xid));
    }

    [Fact]
    public async Task Ten_wrong_admin_tokens_stop_the_addresss_admin_calls_for_a_minute_and_leave_its_application_calls_alone()
    {
        await using var coordinator = await StartWithTokensAsync("memory");
        for (var guess = 0; guess < 10; guess++)
        {
            var wrong = await Assert.ThrowsAsync<RpcException>(() =>
                new Protocol.V1.Admin.AdminClient(coordinator.WithToken($"guess-{guess}")).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        }

        // The right token teaches the guesser nothing now.
        var right = await Assert.ThrowsAsync<RpcException>(() =>
            new Protocol.V1.Admin.AdminClient(coordinator.WithToken(AdminToken)).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, right.StatusCode);
        Assert.Contains("Too many wrong admin tokens from this address", right.Status.Detail);

        // Applications on the same address are not held up by it.
        var tm = new TransactionManager.TransactionManagerClient(coordinator.WithToken(AppToken));
        var xid = await tm.BeginAsync();
        Assert.Equal(GlobalStatus.Begin, await tm.StatusAsync(xid));
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task AdminCalls_need_the_admin_token(string store)
    {
        await using var coordinator = await StartWithTokensAsync(store);

        var missing = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync);
        var applicationToken = await Assert.ThrowsAsync<RpcException>(() =>
            new Protocol.V1.Admin.AdminClient(coordinator.WithToken(AppToken)).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync);
        var wrong = await Assert.ThrowsAsync<RpcException>(() =>
            new Protocol.V1.Admin.AdminClient(coordinator.WithToken("admin-guess")).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, applicationToken.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal(store, (await new Protocol.V1.Admin.AdminClient(coordinator.WithToken(AdminToken)).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).StoreKind);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task AdminCalls_with_only_an_application_token_configured_need_that_token(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, configure: s => s["Coordinator:ApplicationToken"] = AppToken);

        var missing = await Assert.ThrowsAsync<RpcException>(() => coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        await new Protocol.V1.Admin.AdminClient(coordinator.WithToken(AppToken)).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest());
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task HealthService_is_open_without_a_token(string store)
    {
        await using var coordinator = await StartWithTokensAsync(store);

        var reply = await new Health.HealthClient(coordinator.Channel).CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }
}
