using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.AspNetCore.Tests;

/// <summary>
/// Several databases in one service: each data source is injected by its resource id, and an
/// unkeyed <see cref="AtDbDataSource"/> is there only while it cannot be a guess.
/// </summary>
public class KeyedDataSourceTests(ShopServiceEnvironment env) : IClassFixture<ShopServiceEnvironment>
{
    private ServiceProvider Services(params string[] resourceIds)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAtProxy(o => { o.Coordinator = env.Coordinator.Address; o.ApplicationId = "keyed-tests"; });
        foreach (var id in resourceIds)
        {
            services.AddAtProxyDataSource(id, _ => NpgsqlDataSource.Create(id == env.OrdersResourceId ? env.OrdersConnectionString : env.InventoryConnectionString));
        }
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Each_keyed_data_source_resolves_to_its_own_database()
    {
        await using var services = Services(env.OrdersResourceId, env.InventoryResourceId);
        var orders = services.GetRequiredKeyedService<AtDbDataSource>(env.OrdersResourceId);
        var inventory = services.GetRequiredKeyedService<AtDbDataSource>(env.InventoryResourceId);
        Assert.Equal((env.OrdersResourceId, env.InventoryResourceId), (orders.ResourceId, inventory.ResourceId));
        Assert.Equal(new NpgsqlConnectionStringBuilder(env.OrdersConnectionString).Database, new NpgsqlConnectionStringBuilder(orders.ConnectionString).Database);
        Assert.Equal(new NpgsqlConnectionStringBuilder(env.InventoryConnectionString).Database, new NpgsqlConnectionStringBuilder(inventory.ConnectionString).Database);
    }

    [Fact]
    public async Task An_unkeyed_data_source_with_several_registered_fails_naming_the_keys()
    {
        await using var services = Services(env.OrdersResourceId, env.InventoryResourceId);
        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<AtDbDataSource>());
        Assert.Contains($"'{env.OrdersResourceId}'", error.Message);
        Assert.Contains($"'{env.InventoryResourceId}'", error.Message);
        Assert.Contains("FromKeyedServices", error.Message);
    }

    [Fact]
    public async Task An_unkeyed_data_source_with_one_registered_is_that_one()
    {
        await using var services = Services(env.OrdersResourceId);
        Assert.Same(services.GetRequiredKeyedService<AtDbDataSource>(env.OrdersResourceId), services.GetRequiredService<AtDbDataSource>());
    }

    [Fact]
    public void Registering_one_resource_id_twice_is_refused_naming_it()
    {
        var services = new ServiceCollection();
        services.AddAtProxyDataSource("twice-db", _ => NpgsqlDataSource.Create(env.OrdersConnectionString));
        var error = Assert.Throws<ArgumentException>(() => services.AddAtProxyDataSource("twice-db", _ => NpgsqlDataSource.Create(env.OrdersConnectionString)));
        Assert.Contains("'twice-db'", error.Message);
    }

    [Fact]
    public async Task A_declared_endpoint_without_UseAtProxy_fails_instead_of_running_outside_a_transaction()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddAtProxy(o => { o.Coordinator = env.Coordinator.Address; o.ApplicationId = "undeclared-tests"; });
        await using var app = builder.Build();
        var ran = false;
        app.MapPost("/declared", () => { ran = true; return Results.Ok(); }).WithGlobalTransaction("declared");
        await app.StartAsync();
        var address = KestrelAddresses.Of(app)[0];
        using var http = new HttpClient();
        var response = await http.PostAsync(new Uri(address, "/declared"), null);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.False(ran);
        await app.StopAsync();
    }
}
