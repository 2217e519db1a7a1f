using System.Collections.Concurrent;
using System.Net;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.AspNetCore.Tests;

/// <summary>
/// One real ASP.NET Core service on loopback Kestrel that writes two databases (orders and
/// inventory, injected by key) in global transactions it declares: minimal-API endpoints for each
/// propagation mode and for rollback rules, and an MVC controller. The test process has an AtProxy
/// client of its own to call the service inside a global transaction (sending <c>atproxy-xid</c>).
/// A hook records every stage, per request.
/// </summary>
public sealed class ShopServiceEnvironment() : TwoDatabaseEnvironment("shop_", "shop-tests")
{
    public const string ServiceApplicationId = "shop-service";
    public const int InitialStock = 1_000;

    private WebApplication? _service;

    protected override bool WrapsDataSources => false;

    public Uri Service { get; private set; } = null!;

    /// <summary>What the recording hook saw, by the request's <c>case</c> query value.</summary>
    public RecordingHook Hooks { get; } = new();

    protected override async Task CreateSchemaAsync(NpgsqlConnection orders, NpgsqlConnection inventory)
    {
        await orders.ExecuteAsync("CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, qty int NOT NULL)");
        await inventory.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0)");
    }

    protected override async Task StartedAsync()
    {
        _service = BuildService();
        await _service.StartAsync();
        Service = KestrelAddresses.Of(_service)[0];
        await WaitForResourceManagerAsync(ServiceApplicationId, OrdersResourceId);
        await WaitForResourceManagerAsync(ServiceApplicationId, InventoryResourceId);
    }

    protected override async Task StoppingAsync()
    {
        if (_service is not null)
        {
            await _service.StopAsync();
            await _service.DisposeAsync();
        }
    }

    /// <summary>Orders of <paramref name="sku"/> and its stock count.</summary>
    public async Task<(long Orders, int Stock)> StateAsync(string sku)
    {
        await using var orders = new NpgsqlConnection(OrdersConnectionString);
        await using var inventory = new NpgsqlConnection(InventoryConnectionString);
        return (await orders.ExecuteScalarAsync<long>("SELECT count(*) FROM orders WHERE sku = @sku", new { sku }),
                await inventory.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
    }

    private WebApplication BuildService()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1));
        builder.Services.AddAtProxy(o => { o.Coordinator = Coordinator.Address; o.ApplicationId = ServiceApplicationId; });
        builder.Services.AddAtProxyDataSource(OrdersResourceId, _ => NpgsqlDataSource.Create(OrdersConnectionString));
        builder.Services.AddAtProxyDataSource(InventoryResourceId, _ => NpgsqlDataSource.Create(InventoryConnectionString));
        builder.Services.AddSingleton<IGlobalTransactionHook>(Hooks);
        builder.Services.AddControllers().AddApplicationPart(typeof(ShopController).Assembly);
        var app = builder.Build();
        // The exception's type and message become the body, so tests can tell the failures apart.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = async http =>
            {
                var error = http.Features.Get<IExceptionHandlerFeature>()?.Error;
                http.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await http.Response.WriteAsync($"{error?.GetType().Name}: {error?.Message}");
            },
        });
        app.UseAtProxy();
        foreach (var propagation in Enum.GetValues<GlobalTransactionPropagation>())
        {
            app.MapPost($"/sell/{propagation}", SellAsync).WithGlobalTransaction($"sell-{propagation}", TimeSpan.FromSeconds(30), o => o.Propagation = propagation);
        }
        app.MapPost("/sell/rules", SellAsync).WithGlobalTransaction("sell-with-rules", configure: o =>
        {
            o.NoRollbackFor = [typeof(ArgumentException)];
            o.RollbackFor = [typeof(ArgumentOutOfRangeException)];
            o.NoRollbackForStatusCodes = [404];
        });
        app.MapPost("/sell/outlives-timeout", async (HttpContext http, AtProxyClient client, [FromKeyedServices("orders-db")] AtDbDataSource orders, [FromKeyedServices("inventory-db")] AtDbDataSource inventory) =>
        {
            var xid = await ShopController.SellAsync(client, orders, inventory, http.Request.Query["sku"].ToString());
            // Answer only once the coordinator has rolled the transaction back for its timeout: the commit that follows must fail.
            await WaitForStatusAsync(xid, GlobalStatus.TimeoutRollbacked, TimeSpan.FromSeconds(30));
            return Results.Ok(xid);
        }).WithGlobalTransaction("sell-outlives-timeout", TimeSpan.FromMilliseconds(300));
        app.MapControllers();
        return app;
    }

    /// <summary>
    /// Sells one unit of <c>sku</c> (an order in one database, the stock in the other), then answers
    /// as the query asks: <c>status=N</c> answers N, <c>throw=argument|argument-range|invalid</c> throws.
    /// The body is the XID the work ran in, or <c>none</c>.
    /// </summary>
    private static async Task<IResult> SellAsync(HttpContext http, AtProxyClient client,
        [FromKeyedServices("orders-db")] AtDbDataSource orders, [FromKeyedServices("inventory-db")] AtDbDataSource inventory)
    {
        var query = http.Request.Query;
        var xid = await ShopController.SellAsync(client, orders, inventory, query["sku"].ToString());
        ShopController.ThrowAsAsked(query["throw"]);
        return int.TryParse(query["status"], out var status) ? Results.Text(xid, statusCode: status) : Results.Text(xid);
    }
}

/// <summary>An MVC face of the shop: the controller declares the transaction, one action overrides it.</summary>
[ApiController]
[Route("mvc")]
[GlobalTransactional("mvc-sell", TimeoutMilliseconds = 30_000)]
public sealed class ShopController(AtProxyClient client) : ControllerBase
{
    [HttpPost("sell")]
    public async Task<IActionResult> Sell([FromQuery] string sku, [FromQuery] int? status, [FromQuery(Name = "throw")] string? toThrow,
        [FromKeyedServices("orders-db")] AtDbDataSource orders, [FromKeyedServices("inventory-db")] AtDbDataSource inventory)
    {
        var xid = await SellAsync(client, orders, inventory, sku);
        ThrowAsAsked(toThrow);
        return StatusCode(status ?? 200, xid);
    }

    [HttpPost("sell-keeping-not-found")]
    [GlobalTransactional("mvc-sell-keeping-not-found", NoRollbackForStatusCodes = [404])]
    public Task<IActionResult> SellKeepingNotFound([FromQuery] string sku, [FromQuery] int? status,
        [FromKeyedServices("orders-db")] AtDbDataSource orders, [FromKeyedServices("inventory-db")] AtDbDataSource inventory) =>
        Sell(sku, status, null, orders, inventory);

    internal static async Task<string> SellAsync(AtProxyClient client, AtDbDataSource orders, AtDbDataSource inventory, string sku)
    {
        await using (var connection = await orders.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
        }
        await using (var connection = await inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
        }
        return client.CurrentXid ?? "none";
    }

    internal static void ThrowAsAsked(string? what)
    {
        switch (what)
        {
            case "argument":
                throw new ArgumentException("rejected after selling");
            case "argument-range":
                throw new ArgumentOutOfRangeException(nameof(what), "out of range after selling");
            case "invalid":
                throw new InvalidOperationException("failed after selling");
        }
    }
}

/// <summary>Records the stages of every transaction by the request's <c>case</c>; <c>hookFails=stage</c> makes that stage throw.</summary>
public sealed class RecordingHook : IGlobalTransactionHook
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _stages = new();

    public IReadOnlyList<string> StagesOf(string testCase) => _stages.TryGetValue(testCase, out var stages) ? [.. stages] : [];

    public ValueTask BeforeBeginAsync(GlobalTransactionHookContext context) => Record(context, "before-begin");

    public ValueTask AfterBeginAsync(GlobalTransactionHookContext context) => Record(context, "after-begin");

    public ValueTask BeforeCommitAsync(GlobalTransactionHookContext context) => Record(context, "before-commit");

    public ValueTask AfterCommitAsync(GlobalTransactionHookContext context) => Record(context, "after-commit");

    public ValueTask BeforeRollbackAsync(GlobalTransactionHookContext context) => Record(context, "before-rollback");

    public ValueTask AfterRollbackAsync(GlobalTransactionHookContext context) => Record(context, "after-rollback");

    public ValueTask AfterCompletionAsync(GlobalTransactionHookContext context) => Record(context, "after-completion");

    private ValueTask Record(GlobalTransactionHookContext context, string stage)
    {
        var query = context.HttpContext.Request.Query;
        if (query["case"].ToString() is { Length: > 0 } testCase)
        {
            _stages.GetOrAdd(testCase, _ => new()).Enqueue($"{stage} {context.Status?.ToString() ?? "-"} {(context.Xid is null ? "no-xid" : "xid")}");
        }
        if (query["hookFails"] == stage)
        {
            throw new InvalidOperationException($"the {stage} hook refused");
        }
        return ValueTask.CompletedTask;
    }
}
