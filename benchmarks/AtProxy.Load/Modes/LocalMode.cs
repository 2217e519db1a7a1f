using Dapper;
using Npgsql;

namespace AtProxy.Load.Modes;

/// <summary>
/// Two independent local transactions: the ceiling for throughput, and the seed problem itself: an
/// order abandoned after its first write leaves an order without its stock deduction.
/// </summary>
internal sealed class LocalMode(NpgsqlDataSource orders, NpgsqlDataSource inventory) : IOrderMode
{
    public string Name => "local";

    public async Task<OrderOutcome> PlaceAsync(string sku, bool rollBack, CancellationToken cancellationToken)
    {
        await using (var a = await orders.OpenConnectionAsync(cancellationToken))
        {
            await a.ExecuteAsync(Sql.InsertOrder, new { sku });
        }
        if (rollBack)
        {
            // Nothing can undo the order already committed in database A.
            return OrderOutcome.RolledBack;
        }
        await using (var b = await inventory.OpenConnectionAsync(cancellationToken))
        {
            await b.ExecuteAsync(Sql.TakeStock, new { sku });
        }
        return OrderOutcome.Committed;
    }
}
