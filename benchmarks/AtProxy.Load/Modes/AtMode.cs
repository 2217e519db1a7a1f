using Dapper;

namespace AtProxy.Load.Modes;

/// <summary>AtProxy: one global transaction over both databases through proxied data sources.</summary>
internal sealed class AtMode(AtProxyClient client, AtDbDataSource orders, AtDbDataSource inventory) : IOrderMode
{
    public string Name => "at";

    public async Task<OrderOutcome> PlaceAsync(string sku, bool rollBack, CancellationToken cancellationToken)
    {
        try
        {
            await using var gtx = await client.BeginAsync("place-order", TimeSpan.FromSeconds(30), cancellationToken);
            await using (var a = await orders.OpenConnectionAsync(cancellationToken))
            {
                await a.ExecuteAsync(Sql.InsertOrder, new { sku });
            }
            await using (var b = await inventory.OpenConnectionAsync(cancellationToken))
            {
                await b.ExecuteAsync(Sql.TakeStock, new { sku });
            }
            if (rollBack)
            {
                await gtx.RollbackAsync(cancellationToken);
                return OrderOutcome.RolledBack;
            }
            await gtx.CommitAsync(cancellationToken);
            return OrderOutcome.Committed;
        }
        catch (GlobalLockConflictException)
        {
            return OrderOutcome.Conflict;
        }
    }
}
