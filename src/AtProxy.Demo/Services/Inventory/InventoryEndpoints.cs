using AtProxy.Demo.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AtProxy.Demo.Services.Inventory;

/// <summary>The inventory service's HTTP face.</summary>
public static class InventoryEndpoints
{
    /// <summary>Maps <c>POST /reserve</c> and <c>GET /in-flight</c>.</summary>
    public static IEndpointRouteBuilder MapInventory(this IEndpointRouteBuilder app)
    {
        // An exception other than a lock conflict is not caught: ASP.NET Core answers 500.
        app.MapPost("/reserve", async (ReserveRequest request, StockReservation reservation) =>
        {
            try
            {
                return await reservation.ReserveAsync(request)
                    ? Results.Ok()
                    : Results.Conflict(new ReserveError(ReserveError.OutOfStock, $"Not enough {request.Sku} in stock."));
            }
            catch (GlobalLockConflictException ex)
            {
                return Results.Conflict(new ReserveError(ReserveError.LockConflict, ex.Message));
            }
        });
        app.MapGet("/in-flight", (StockReservation reservation) => Results.Ok(reservation.InFlight));
        return app;
    }
}
