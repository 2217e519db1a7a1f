using System.Data.Common;
using System.Diagnostics;
using AtProxy.Demo.Contracts;
using AtProxy.Demo.Services.Transactions;
using Dapper;

namespace AtProxy.Demo.Services.Orders;

/// <summary>
/// Places one order: records it in the orders database, has the inventory service deduct the
/// stock, charges the payment, commits. The same code runs with and without AtProxy; only the
/// injected <see cref="DbDataSource"/> and <see cref="IOrderTransactions"/> differ.
/// </summary>
public sealed class OrderPlacement(DbDataSource orders, IOrderTransactions transactions, InventoryClient inventory)
{
    /// <summary>The order's row.</summary>
    public const string InsertOrder = "INSERT INTO orders (sku, quantity) VALUES (@Sku, @Quantity)";

    /// <summary>Places the order and says how it ended; it never throws for a failed order.</summary>
    public async Task<OrderResult> PlaceAsync(PlaceOrderRequest request)
    {
        var clock = Stopwatch.StartNew();
        string? xid = null;
        try
        {
            await using var transaction = await transactions.BeginAsync("place-order", DemoTimings.OrderTimeout);
            xid = transaction.Xid;
            await using (var connection = await orders.OpenConnectionAsync())
            await using (var local = await connection.BeginTransactionAsync())
            {
                await connection.ExecuteAsync(InsertOrder, request, local);
                await inventory.ReserveAsync(request);
                ChargePayment(request);
                await local.CommitAsync();
            }
            if (request.HoldOpenMs > 0)
            {
                await Task.Delay(request.HoldOpenMs);
            }
            await transaction.CommitAsync();
            return new OrderResult(OrderOutcome.Committed, xid, null);
        }
        catch (Exception ex)
        {
            return new OrderResult(Classify(ex, clock.Elapsed), xid, ex.Message);
        }
    }

    private static void ChargePayment(PlaceOrderRequest request)
    {
        if (request.Fault == Fault.PaymentDeclined)
        {
            throw new PaymentDeclinedException($"The payment for {request.Quantity} x {request.Sku} was declined.");
        }
    }

    private static OrderOutcome Classify(Exception ex, TimeSpan elapsed) => ex switch
    {
        PaymentDeclinedException => OrderOutcome.PaymentDeclined,
        InventoryCallException refused => refused.Outcome,
        TaskCanceledException or TimeoutException => OrderOutcome.TimedOut,
        HttpRequestException => OrderOutcome.InventoryUnavailable,
        GlobalLockConflictException => OrderOutcome.LockConflict,
        GlobalTransactionException { Status: GlobalTransactionStatus.TimeoutRollbacked or GlobalTransactionStatus.TimeoutRollbacking or GlobalTransactionStatus.TimeoutRollbackRetrying } => OrderOutcome.TimedOut,
        // A global transaction that outlived its timeout refuses further branches.
        AtProxyException when elapsed >= DemoTimings.OrderTimeout => OrderOutcome.TimedOut,
        _ => OrderOutcome.Failed,
    };
}
