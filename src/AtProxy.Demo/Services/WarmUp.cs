using System.Data.Common;
using AtProxy.Demo.Contracts;
using AtProxy.Demo.Services.Inventory;
using AtProxy.Demo.Services.Orders;
using AtProxy.Demo.Services.Transactions;
using Dapper;
using Microsoft.Extensions.Hosting;

namespace AtProxy.Demo.Services;

/// <summary>
/// Runs the service's own write once, in a transaction that is rolled back, before the service
/// reports healthy: the first real orders would otherwise pay for loading the SQL parser, the
/// table metadata and the connections, and run into their timeout on a busy machine.
/// </summary>
internal sealed class WarmUp(ServiceSettings settings, DbDataSource database, IOrderTransactions transactions) : BackgroundService
{
    private volatile bool _done;

    /// <summary>True once the warm-up has run (or failed: it is only an optimization).</summary>
    public bool IsDone => _done;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var (sql, parameters) = settings.Role == ServiceRole.Orders
                ? (OrderPlacement.InsertOrder, (object)new PlaceOrderRequest("warm-up", 1, Fault.None))
                : (StockReservation.DeductStock, new ReserveRequest("warm-up", 1, Fault.None));
            await using var transaction = await transactions.BeginAsync("warm-up", DemoTimings.OrderTimeout);
            await using var connection = await database.OpenConnectionAsync(stoppingToken);
            await using var local = await connection.BeginTransactionAsync(stoppingToken);
            await connection.ExecuteAsync(sql, parameters, local);
            // Disposed without commit: both the local and the global transaction roll back.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Console.Error.WriteLine($"Warm-up failed (the service runs anyway): {ex.Message}");
        }
        finally
        {
            _done = true;
        }
    }
}
