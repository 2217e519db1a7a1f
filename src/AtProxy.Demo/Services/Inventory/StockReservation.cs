using System.Data.Common;
using AtProxy.Demo.Contracts;
using Dapper;

namespace AtProxy.Demo.Services.Inventory;

/// <summary>
/// Takes stock for an order in the inventory database, in a local transaction of its own, then
/// publishes a stock-changed event. With AtProxy the local transaction joins the caller's global
/// transaction (the XID came in the request header); without it, it is simply committed.
/// </summary>
public sealed class StockReservation(DbDataSource inventory)
{
    private int _inFlight;

    /// <summary>The stock deduction.</summary>
    public const string DeductStock = "UPDATE stock SET count = count - @Quantity, sold = sold + @Quantity WHERE sku = @Sku AND count >= @Quantity";

    /// <summary>Reservations still running (a slow one may finish long after its caller gave up).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Deducts the stock; false when there is not enough of it.</summary>
    public async Task<bool> ReserveAsync(ReserveRequest request)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            // The caller's cancellation is not passed on: like many services, this one finishes
            // work whose caller has stopped waiting for it.
            if (request.Fault == Fault.SlowInventory)
            {
                await Task.Delay(DemoTimings.SlowInventoryDelay);
            }
            await using (var connection = await inventory.OpenConnectionAsync())
            await using (var local = await connection.BeginTransactionAsync())
            {
                var taken = await connection.ExecuteAsync(DeductStock, request, local);
                if (taken == 0)
                {
                    return false;
                }
                await local.CommitAsync();
            }
            await PublishStockChangedAsync(request);
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static async Task PublishStockChangedAsync(ReserveRequest request)
    {
        await Task.Delay(DemoTimings.PublishDelay());
        if (request.Fault == Fault.InventoryThrows)
        {
            throw new InvalidOperationException($"Publishing the stock change of {request.Sku} failed after the deduction was committed.");
        }
    }
}
