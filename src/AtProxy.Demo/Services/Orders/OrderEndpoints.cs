using AtProxy.Demo.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AtProxy.Demo.Services.Orders;

/// <summary>The order service's HTTP face.</summary>
public static class OrderEndpoints
{
    /// <summary>Maps <c>POST /orders</c>.</summary>
    public static IEndpointRouteBuilder MapOrders(this IEndpointRouteBuilder app)
    {
        app.MapPost("/orders", async (PlaceOrderRequest request, OrderPlacement placement) => Results.Ok(await placement.PlaceAsync(request)));
        return app;
    }
}
