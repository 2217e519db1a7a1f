using System.Data.Common;
using AtProxy.AspNetCore;
using AtProxy.Hosting;
using AtProxy.Demo.Services.Inventory;
using AtProxy.Demo.Services.Orders;
using AtProxy.Demo.Services.Transactions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Demo.Services;

/// <summary>
/// Runs the order or the inventory service: ASP.NET Core with Dapper over the service's own
/// database, proxied by AtProxy unless the demo runs without it.
/// </summary>
public static class ServiceHost
{
    /// <summary>Runs the service until it is stopped or the demo that started it is gone.</summary>
    public static async Task<int> RunAsync(ServiceSettings settings, int? parentProcessId)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(settings.Address.ToString());
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        AddDatabase(builder.Services, settings);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<WarmUp>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WarmUp>());
        if (parentProcessId is { } parent)
        {
            builder.Services.AddHostedService(sp => new ParentProcessWatcher(parent, sp.GetRequiredService<IHostApplicationLifetime>()));
        }
        if (settings.Role == ServiceRole.Orders)
        {
            AddOrders(builder.Services, settings);
        }
        else
        {
            builder.Services.AddSingleton<StockReservation>();
        }

        var app = builder.Build();
        if (settings.Coordinator is not null)
        {
            app.UseAtProxy(); // joins the caller's global transaction from the atproxy-xid header
        }
        app.MapGet("/health", (WarmUp warmUp) => warmUp.IsDone ? Results.Ok("ok") : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
        if (settings.Role == ServiceRole.Orders)
        {
            app.MapOrders();
        }
        else
        {
            app.MapInventory();
        }
        await app.RunAsync();
        return 0;
    }

    private static void AddDatabase(IServiceCollection services, ServiceSettings settings)
    {
        if (settings.Coordinator is { } coordinator)
        {
            services.AddAtProxy(o =>
            {
                o.Coordinator = coordinator;
                o.ApplicationId = settings.ApplicationId;
                o.AdditionalCoordinators = [.. settings.AdditionalCoordinators];
                if (settings.UndoLogRetention is { } retention)
                {
                    o.UndoLogRetention = retention;
                    o.UndoPurgeInterval = TimeSpan.FromSeconds(1);
                }
            });
            services.AddAtProxyDataSource(settings.ResourceId, _ => NpgsqlDataSource.Create(settings.ConnectionString));
            services.AddSingleton<DbDataSource>(sp => sp.GetRequiredService<AtDbDataSource>());
            services.AddSingleton<IOrderTransactions, AtProxyOrderTransactions>();
        }
        else
        {
            services.AddSingleton<DbDataSource>(_ => NpgsqlDataSource.Create(settings.ConnectionString));
            services.AddSingleton<IOrderTransactions, LocalOnlyOrderTransactions>();
        }
    }

    private static void AddOrders(IServiceCollection services, ServiceSettings settings)
    {
        var inventory = settings.Inventory ?? throw new ArgumentException("The order service needs the inventory service's address (--inventory).");
        var http = services.AddHttpClient(InventoryClient.HttpClientName, client =>
        {
            client.BaseAddress = inventory;
            client.Timeout = DemoTimings.OrderTimeout;
        });
        if (settings.Coordinator is not null)
        {
            http.AddAtProxyXidPropagation(); // sends the ambient XID in the atproxy-xid header
        }
        services.AddSingleton<InventoryClient>();
        services.AddSingleton<OrderPlacement>();
    }
}
