using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using AtProxy.AspNetCore.Tests.Inventory;
using AtProxy.Diagnostics;
using AtProxy.Testing;
using Dapper;
using Grpc.Core;
using Grpc.Net.Client;
using Npgsql;

namespace AtProxy.AspNetCore.Tests;

public class PropagationTests(TwoServicesEnvironment env) : IClassFixture<TwoServicesEnvironment>
{
    private static readonly HttpClient Http = new();

    private async Task<HttpResponseMessage> PlaceOrderAsync(string sku, string extra = "") =>
        await Http.PostAsync(new Uri(env.OrderServiceHttp, $"/orders?sku={sku}{extra}"), null);

    [Theory]
    [InlineData("http")]
    [InlineData("grpc")]
    public async Task A_commit_keeps_the_order_and_the_remote_stock_deduction(string transport)
    {
        var sku = "commit-" + transport;
        await env.SeedAsync(sku, 10);
        var response = await PlaceOrderAsync(sku, $"&transport={transport}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((1L, 9), await env.StateAsync(sku));
        await env.WaitForQuiescenceAsync();
    }

    [Theory]
    [InlineData("http")]
    [InlineData("grpc")]
    public async Task An_exception_in_the_order_service_after_the_call_rolls_both_back(string transport)
    {
        var sku = "fail-after-" + transport;
        await env.SeedAsync(sku, 10);
        var response = await PlaceOrderAsync(sku, $"&transport={transport}&failAfterCall=true");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal((0L, 10), await env.StateAsync(sku));
        await env.WaitForQuiescenceAsync();
    }

    [Theory]
    [InlineData("http")]
    [InlineData("grpc")]
    public async Task The_inventory_services_own_failure_rolls_both_back(string transport)
    {
        var sku = "inventory-fails-" + transport;
        await env.SeedAsync(sku, 10);
        var response = await PlaceOrderAsync(sku, $"&transport={transport}&inventoryFails=true");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal((0L, 10), await env.StateAsync(sku));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_timeout_while_the_inventory_call_is_slow_rolls_both_back_and_the_late_write_fails()
    {
        const string sku = "slow";
        await env.SeedAsync(sku, 10);
        var response = await PlaceOrderAsync(sku, "&timeoutMs=700&inventoryDelayMs=1500");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        // The coordinator's timeout rollback runs in the background.
        await Eventually.TrueAsync(async () => await env.StateAsync(sku) == (0L, 10), TimeSpan.FromSeconds(5),
            async () => $"no order and the stock back at 10 for {sku} (it is {await env.StateAsync(sku)})");
        Assert.Equal((0L, 10), await env.StateAsync(sku));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_malformed_xid_is_refused_over_http_and_grpc_and_nothing_is_written()
    {
        const string sku = "malformed";
        await env.SeedAsync(sku, 10);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(env.InventoryServiceHttp, $"/reserve?sku={sku}"));
        request.Headers.TryAddWithoutValidation(AtProxyHeaders.Xid, "not a valid xid");
        var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(AtProxyHeaders.Xid, await response.Content.ReadAsStringAsync());

        using var channel = GrpcChannel.ForAddress(env.InventoryServiceGrpc);
        var client = new InventoryService.InventoryServiceClient(channel);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.ReserveAsync(new ReserveRequest { Sku = sku, Quantity = 1 }, new Grpc.Core.Metadata { { AtProxyHeaders.Xid, new string('x', 200) } }));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(10, (await env.StateAsync(sku)).Stock);
    }

    [Fact]
    public async Task A_request_without_the_header_runs_as_a_plain_local_transaction()
    {
        const string sku = "plain";
        await env.SeedAsync(sku, 10);
        var response = await Http.PostAsync(new Uri(env.InventoryServiceHttp, $"/reserve?sku={sku}"), null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(9, (await env.StateAsync(sku)).Stock);
        await using var inventory = new NpgsqlConnection(env.InventoryConnectionString);
        var undoTable = await inventory.ExecuteScalarAsync<bool>("SELECT to_regclass('atproxy_undo_log') IS NOT NULL");
        Assert.True(!undoTable || await inventory.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log") == 0);
    }

    [Fact]
    public async Task The_spans_of_one_global_transaction_share_one_trace_across_both_services()
    {
        const string sku = "traced";
        await env.SeedAsync(sku, 10);
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is AtProxyTelemetry.SourceName or "Microsoft.AspNetCore" or "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        using var root = new Activity("test-root").Start();
        var response = await PlaceOrderAsync(sku);
        root.Stop();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var xid = (await response.Content.ReadAsStringAsync()).Trim('"');

        var ours = spans.Where(s => s.Source.Name == AtProxyTelemetry.SourceName && s.TraceId == root.TraceId).ToList();
        Assert.Contains(ours, s => s.OperationName == "atproxy.begin");
        Assert.Contains(ours, s => s.OperationName == "atproxy.commit" && (string?)s.GetTagItem(AtProxyTelemetry.XidTag) == xid);
        var phaseOne = ours.Where(s => s.OperationName == "atproxy.branch.phase1").ToList();
        Assert.Contains(phaseOne, s => (string?)s.GetTagItem(AtProxyTelemetry.ResourceTag) == "orders-db");
        Assert.Contains(phaseOne, s => (string?)s.GetTagItem(AtProxyTelemetry.ResourceTag) == "inventory-db");
        Assert.All(phaseOne, s => Assert.Equal(xid, s.GetTagItem(AtProxyTelemetry.XidTag)));
        Assert.All(phaseOne, s => Assert.NotNull(s.GetTagItem(AtProxyTelemetry.BranchIdTag)));
    }

    [Fact]
    public async Task A_declared_order_commits_with_the_stock_the_declared_inventory_endpoint_deducted_in_it()
    {
        const string sku = "declared-commit";
        await env.SeedAsync(sku, 10);
        var response = await Http.PostAsync(new Uri(env.OrderServiceHttp, $"/declared-orders?sku={sku}"), null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((1L, 9), await env.StateAsync(sku));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_declared_inventory_endpoints_error_status_passes_back_and_the_declared_order_rolls_both_back()
    {
        const string sku = "declared-inventory-fails";
        await env.SeedAsync(sku, 10);
        var response = await Http.PostAsync(new Uri(env.OrderServiceHttp, $"/declared-orders?sku={sku}&inventoryFails=true"), null);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal((0L, 10), await env.StateAsync(sku));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task The_mandatory_inventory_endpoint_called_without_a_global_transaction_refuses_before_writing()
    {
        const string sku = "declared-no-caller";
        await env.SeedAsync(sku, 10);
        var response = await Http.PostAsync(new Uri(env.InventoryServiceHttp, $"/reserve-in-caller?sku={sku}"), null);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(10, (await env.StateAsync(sku)).Stock);
    }
}
