using AtProxy.Demo.Contracts;
using AtProxy.Demo.Scenario;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using Dapper;
using Grpc.Core;
using Npgsql;

namespace AtProxy.Demo.Chaos;

/// <summary>
/// The run's invariants, read from both databases (bypassing the services) and the coordinator:
/// every SKU's stock + sold is its initial stock and its sold units are its orders' units; every
/// committed order transaction has its order row; no undo record, global lock or unfinished
/// transaction is left; every order the application was told committed is committed, and none it
/// was told failed is. An order whose outcome the application was not told counts as either,
/// resolved from the coordinator's final status.
/// </summary>
internal static class ChaosCheck
{
    /// <summary>Outcomes the order service only reports when it never asked for the commit: the transaction cannot have committed.</summary>
    private static readonly HashSet<OrderOutcome> RolledBackForSure =
    [
        OrderOutcome.PaymentDeclined, OrderOutcome.InventoryFailed, OrderOutcome.InventoryUnavailable, OrderOutcome.LockConflict, OrderOutcome.OutOfStock,
    ];

    /// <summary>What one check found: the violations (none when consistent) and how the driver's transactions ended.</summary>
    public sealed record Result(IReadOnlyList<string> Violations, int Committed, int RolledBack, int Failed);

    public static async Task<Result> RunAsync(ChaosEnvironment environment, IReadOnlyList<OrderResult> orders, CancellationToken cancellationToken)
    {
        var violations = new List<string>();
        var admin = environment.Coordinator.Admin;

        await using var ordersDb = new NpgsqlConnection(environment.OrdersConnectionString);
        await using var inventoryDb = new NpgsqlConnection(environment.InventoryConnectionString);
        var ordered = (await ordersDb.QueryAsync<(string Sku, long Units)>("SELECT sku, sum(quantity)::bigint FROM orders GROUP BY sku"))
            .ToDictionary(r => r.Sku, r => r.Units);
        var orderRows = await ordersDb.ExecuteScalarAsync<long>("SELECT count(*) FROM orders");
        foreach (var (sku, count, sold) in await inventoryDb.QueryAsync<(string, int, int)>("SELECT sku, count, sold FROM stock ORDER BY sku"))
        {
            var balance = new SkuBalance(sku, Catalog.InitialStock, count, sold, ordered.GetValueOrDefault(sku));
            if (!balance.StockBalances)
            {
                violations.Add($"{sku}: stock {count} + sold {sold} != initial {Catalog.InitialStock}");
            }
            if (!balance.OrdersMatchSold)
            {
                violations.Add($"{sku}: {balance.Orders} units ordered but {sold} sold");
            }
        }

        foreach (var (database, connection) in new[] { ("orders", ordersDb), ("inventory", inventoryDb) })
        {
            foreach (var (xid, branch, status) in await UndoRecordsAsync(connection))
            {
                violations.Add($"{database}: undo record of {xid} branch {branch} (log_status {status}) left; the transaction is {await StatusAsync(admin, xid, cancellationToken)}");
            }
        }

        var locks = (await admin.ListLocksAsync(new ListLocksRequest { PageSize = 1000 }, cancellationToken: cancellationToken)).Locks;
        violations.AddRange(locks.Take(5).Select(l => $"global lock held: {l.ResourceId} {l.Key} by {l.Xid}"));
        var unfinished = await QuiescenceWait.UnfinishedTransactionsAsync(admin, cancellationToken);
        violations.AddRange(unfinished.Take(5).Select(t => $"transaction {t.Xid} ({t.Name}) unfinished: {t.Status}"));

        var committedAtCoordinator = await CommittedOrderTransactionsAsync(admin, cancellationToken);
        if (committedAtCoordinator.Count != orderRows)
        {
            violations.Add($"{committedAtCoordinator.Count} order transactions committed but {orderRows} order rows");
        }
        int committed = 0, rolledBack = 0, failed = 0;
        foreach (var order in orders)
        {
            if (order.Xid is not { } xid)
            {
                failed++;
                continue;
            }
            var isCommitted = committedAtCoordinator.Contains(xid);
            if (isCommitted)
            {
                committed++;
            }
            else
            {
                rolledBack++;
            }
            if (order.Outcome == OrderOutcome.Committed && !isCommitted)
            {
                violations.Add($"{xid} was reported committed to the application but is {await StatusAsync(admin, xid, cancellationToken)}");
            }
            if (RolledBackForSure.Contains(order.Outcome) && isCommitted)
            {
                violations.Add($"{xid} was reported {order.Outcome} to the application ({order.Detail}) but committed");
            }
        }
        return new Result(violations, committed, rolledBack, failed);
    }

    /// <summary>Undo records (markers excluded: they are how a finished rollback stays finished).</summary>
    private static async Task<IEnumerable<(string Xid, long Branch, int Status)>> UndoRecordsAsync(NpgsqlConnection connection)
    {
        if (!await connection.ExecuteScalarAsync<bool>($"SELECT to_regclass('{UndoLogTables.UndoLog}') IS NOT NULL"))
        {
            return [];
        }
        return await connection.QueryAsync<(string, long, int)>(
            $"SELECT {UndoLogTables.Columns.Xid}, {UndoLogTables.Columns.BranchId}, {UndoLogTables.Columns.LogStatus} FROM {UndoLogTables.UndoLog} " +
            $"WHERE {UndoLogTables.Columns.LogStatus} <> {(int)UndoLogStatus.GlobalFinished}");
    }

    /// <summary>The XIDs of the committed order transactions (the warm-ups are named otherwise).</summary>
    private static async Task<HashSet<string>> CommittedOrderTransactionsAsync(Admin.AdminClient admin, CancellationToken cancellationToken)
    {
        var xids = new HashSet<string>(StringComparer.Ordinal);
        var request = new ListTransactionsRequest { Name = "place-order", PageSize = 1000 };
        request.Statuses.AddRange([GlobalStatus.Committed, GlobalStatus.Finished]);
        do
        {
            var page = await admin.ListTransactionsAsync(request, cancellationToken: cancellationToken);
            xids.UnionWith(page.Transactions.Select(t => t.Xid));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return xids;
    }

    private static async Task<string> StatusAsync(Admin.AdminClient admin, string xid, CancellationToken cancellationToken)
    {
        try
        {
            return (await admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid }, cancellationToken: cancellationToken)).Transaction.Status.ToString();
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return "unknown to the coordinator";
        }
    }
}
