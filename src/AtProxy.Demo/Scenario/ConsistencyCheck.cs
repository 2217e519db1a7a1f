using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.Demo.Scenario;

/// <summary>Reads both databases (bypassing the services) and the coordinator, and checks that they agree.</summary>
internal static class ConsistencyCheck
{
    /// <summary>Checks the databases and, with AtProxy, the coordinator.</summary>
    public static async Task<ConsistencyReport> RunAsync(DemoEnvironment environment, OutcomeTally tally, bool settled, CancellationToken cancellationToken)
    {
        await using var orders = new NpgsqlConnection(environment.OrdersConnectionString);
        await using var inventory = new NpgsqlConnection(environment.InventoryConnectionString);
        var ordered = (await orders.QueryAsync<(string Sku, long Units)>("SELECT sku, sum(quantity)::bigint FROM orders GROUP BY sku"))
            .ToDictionary(r => r.Sku, r => r.Units);
        var orderRows = await orders.ExecuteScalarAsync<long>("SELECT count(*) FROM orders");
        var stock = await inventory.QueryAsync<(string Sku, int Count, int Sold)>("SELECT sku, count, sold FROM stock ORDER BY sku");
        var skus = stock.Select(s => new SkuBalance(s.Sku, Catalog.InitialStock, s.Count, s.Sold, ordered.GetValueOrDefault(s.Sku))).ToList();

        var undo = await UndoLogContents.ReadAsync(environment, cancellationToken);
        var locks = 0;
        var unfinished = 0;
        if (environment.Coordinator is { } coordinator)
        {
            locks = (await coordinator.Admin.ListLocksAsync(new ListLocksRequest { PageSize = 1000 }, cancellationToken: cancellationToken)).Locks.Count;
            unfinished = (await QuiescenceWait.UnfinishedTransactionsAsync(coordinator.Admin, cancellationToken)).Count;
        }
        return new ConsistencyReport(skus, orderRows, tally[Contracts.OrderOutcome.Committed], undo, locks, unfinished, settled);
    }
}
