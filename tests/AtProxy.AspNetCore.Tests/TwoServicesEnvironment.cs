using System.Net;
using AtProxy.AspNetCore.Tests.Inventory;
using AtProxy.Testing;
using Dapper;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.AspNetCore.Tests;

/// <summary>
/// Two real ASP.NET Core services on loopback Kestrel, each with its own database and its own
/// AtProxy client, and the real coordinator: the order service calls the inventory service over
/// HTTP or gRPC inside a global transaction.
/// </summary>
public sealed class TwoServicesEnvironment() : TwoDatabaseEnvironment("web_", "web-tests")
{
    private WebApplication? _orderService;
    private WebApplication? _inventoryService;

    /// <summary>Each service has its own AtProxy client; the test process has none.</summary>
    protected override bool CreatesClient => false;

    public Uri OrderServiceHttp { get; private set; } = null!;

    public Uri InventoryServiceHttp { get; private set; } = null!;

    public Uri InventoryServiceGrpc { get; private set; } = null!;

    protected override async Task CreateSchemaAsync(NpgsqlConnection orders, NpgsqlConnection inventory)
    {
        await orders.ExecuteAsync("CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, qty int NOT NULL)");
        await inventory.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL)");
    }

    protected override async Task StartedAsync()
    {
        _inventoryService = BuildInventoryService();
        await _inventoryService.StartAsync();
        var inventoryAddresses = KestrelAddresses.Of(_inventoryService);
        InventoryServiceHttp = inventoryAddresses[0];
        InventoryServiceGrpc = inventoryAddresses[1];

        _orderService = BuildOrderService();
        await _orderService.StartAsync();
        OrderServiceHttp = KestrelAddresses.Of(_orderService)[0];
    }

    protected override async Task StoppingAsync()
    {
        if (_orderService is not null)
        {
            await _orderService.StopAsync();
            await _orderService.DisposeAsync();
        }
        if (_inventoryService is not null)
        {
            await _inventoryService.StopAsync();
            await _inventoryService.DisposeAsync();
        }
    }

    public async Task SeedAsync(string sku, int count)
    {
        await using var c = new NpgsqlConnection(InventoryConnectionString);
        await c.ExecuteAsync("INSERT INTO stock VALUES (@sku, @count) ON CONFLICT (sku) DO UPDATE SET count = EXCLUDED.count", new { sku, count });
    }

    public async Task<(long Orders, int Stock)> StateAsync(string sku)
    {
        await using var orders = new NpgsqlConnection(OrdersConnectionString);
        await using var inventory = new NpgsqlConnection(InventoryConnectionString);
        return (await orders.ExecuteScalarAsync<long>("SELECT count(*) FROM orders WHERE sku = @sku", new { sku }),
                await inventory.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
    }

    private static WebApplicationBuilder NewBuilder(bool withGrpcEndpoint)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
            if (withGrpcEndpoint)
            {
                kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
            }
        });
        return builder;
    }

    private WebApplication BuildInventoryService()
    {
        var builder = NewBuilder(withGrpcEndpoint: true);
        builder.Services.AddAtProxy(o => { o.Coordinator = Coordinator.Address; o.ApplicationId = "inventory-service"; });
        builder.Services.AddAtProxyDataSource("inventory-db", _ => NpgsqlDataSource.Create(InventoryConnectionString));
        builder.Services.AddGrpc(o => o.Interceptors.Add<AtProxyGrpcServerInterceptor>());
        var app = builder.Build();
        app.UseAtProxy();
        app.MapPost("/reserve", async (HttpContext http, AtDbDataSource db) =>
        {
            var sku = http.Request.Query["sku"].ToString();
            if (int.TryParse(http.Request.Query["delayMs"], out var delay))
            {
                await Task.Delay(delay);
            }
            var remaining = await ReserveAsync(db, sku, 1);
            if (http.Request.Query["fail"] == "true")
            {
                throw new InvalidOperationException("inventory failed after deducting stock");
            }
            return Results.Ok(remaining);
        });
        // Declared: only inside the caller's global transaction; an error status leaves the decision to the caller.
        app.MapPost("/reserve-in-caller", async (HttpContext http, AtDbDataSource db) =>
        {
            var remaining = await ReserveAsync(db, http.Request.Query["sku"].ToString(), 1);
            return http.Request.Query["fail"] == "true" ? Results.StatusCode(StatusCodes.Status409Conflict) : Results.Ok(remaining);
        }).WithGlobalTransaction("reserve", configure: o => o.Propagation = GlobalTransactionPropagation.Mandatory);
        app.MapGrpcService<InventoryGrpcService>();
        return app;
    }

    internal static async Task<int> ReserveAsync(AtDbDataSource db, string sku, int quantity)
    {
        await using var connection = await db.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>("UPDATE stock SET count = count - @quantity WHERE sku = @sku RETURNING count", new { sku, quantity });
    }

    private WebApplication BuildOrderService()
    {
        var builder = NewBuilder(withGrpcEndpoint: false);
        builder.Services.AddAtProxy(o => { o.Coordinator = Coordinator.Address; o.ApplicationId = "order-service"; });
        builder.Services.AddAtProxyDataSource("orders-db", _ => NpgsqlDataSource.Create(OrdersConnectionString));
        builder.Services.AddHttpClient("inventory", c => c.BaseAddress = InventoryServiceHttp).AddAtProxyXidPropagation();
        builder.Services.AddGrpcClient<InventoryService.InventoryServiceClient>(o => o.Address = InventoryServiceGrpc).AddAtProxyGrpcXidPropagation();
        var app = builder.Build();
        app.UseAtProxy();
        app.MapPost("/orders", async (HttpContext http, AtProxyClient atProxy, AtDbDataSource db, IHttpClientFactory clients, InventoryService.InventoryServiceClient grpc) =>
        {
            var q = http.Request.Query;
            var sku = q["sku"].ToString();
            var timeout = TimeSpan.FromMilliseconds(int.TryParse(q["timeoutMs"], out var t) ? t : 30_000);
            await using var gtx = await atProxy.BeginAsync("place-order", timeout);
            await using (var connection = await db.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
            }
            if (q["transport"] == "grpc")
            {
                await grpc.ReserveAsync(new ReserveRequest { Sku = sku, Quantity = 1, Fail = q["inventoryFails"] == "true" });
            }
            else
            {
                var response = await clients.CreateClient("inventory").PostAsync(
                    $"/reserve?sku={sku}&fail={q["inventoryFails"]}&delayMs={q["inventoryDelayMs"]}", null);
                response.EnsureSuccessStatusCode();
            }
            if (q["failAfterCall"] == "true")
            {
                throw new InvalidOperationException("payment declined after stock was deducted");
            }
            await gtx.CommitAsync();
            return Results.Ok(gtx.Xid);
        });
        // The same order, declared: begun here, and the inventory service's answer decides it.
        app.MapPost("/declared-orders", async (HttpContext http, AtProxyClient atProxy, AtDbDataSource db, IHttpClientFactory clients) =>
        {
            var q = http.Request.Query;
            var sku = q["sku"].ToString();
            await using (var connection = await db.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
            }
            var reserved = await clients.CreateClient("inventory").PostAsync($"/reserve-in-caller?sku={sku}&fail={q["inventoryFails"]}", null);
            return reserved.IsSuccessStatusCode ? Results.Ok(atProxy.CurrentXid) : Results.StatusCode((int)reserved.StatusCode);
        }).WithGlobalTransaction("place-order-declared", TimeSpan.FromSeconds(30));
        return app;
    }
}

/// <summary>The inventory service's gRPC face.</summary>
public sealed class InventoryGrpcService(AtDbDataSource db) : InventoryService.InventoryServiceBase
{
    public override async Task<ReserveReply> Reserve(ReserveRequest request, ServerCallContext context)
    {
        var remaining = await TwoServicesEnvironment.ReserveAsync(db, request.Sku, request.Quantity);
        if (request.Fail)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "inventory failed after deducting stock"));
        }
        return new ReserveReply { Remaining = remaining };
    }
}
