using System.Diagnostics;
using AtProxy.Load.Measurements;
using Dapper;
using Npgsql;

namespace AtProxy.Load.Modes;

/// <summary>
/// Classic two-phase commit with PostgreSQL's own PREPARE TRANSACTION, driven here as the
/// coordinator: both branches prepared, the decision logged durably in a table, then
/// COMMIT PREPARED on each and the log entry removed. Row locks are held until the second phase;
/// how long the stock row's is held goes to <paramref name="stockRowHolds"/>.
/// </summary>
internal sealed class XaMode(NpgsqlDataSource orders, NpgsqlDataSource inventory, XaRowLockHolds stockRowHolds) : IOrderMode
{
    public string Name => "xa";

    public async Task<OrderOutcome> PlaceAsync(string sku, bool rollBack, CancellationToken cancellationToken)
    {
        var gid = "xa-" + Guid.NewGuid().ToString("N");
        await using var a = await orders.OpenConnectionAsync(cancellationToken);
        await using var b = await inventory.OpenConnectionAsync(cancellationToken);
        long stockLocked;
        try
        {
            await a.ExecuteAsync("BEGIN TRANSACTION");
            await a.ExecuteAsync(Sql.InsertOrder, new { sku });
            await b.ExecuteAsync("BEGIN TRANSACTION");
            await b.ExecuteAsync(Sql.TakeStock, new { sku });
            stockLocked = Stopwatch.GetTimestamp();
            if (rollBack)
            {
                await a.ExecuteAsync("ROLLBACK TRANSACTION");
                await b.ExecuteAsync("ROLLBACK TRANSACTION");
                stockRowHolds.Released(stockLocked);
                return OrderOutcome.RolledBack;
            }
            await a.ExecuteAsync($"PREPARE TRANSACTION '{gid}-a'");
            await b.ExecuteAsync($"PREPARE TRANSACTION '{gid}-b'");
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
        {
            await AbortAsync(a);
            await AbortAsync(b);
            return OrderOutcome.Conflict;
        }
        // The decision is durable before it is acted on, as a coordinator must make it.
        await a.ExecuteAsync("INSERT INTO xa_decision_log (gid, decision) VALUES (@gid, 'commit')", new { gid });
        await a.ExecuteAsync($"COMMIT PREPARED '{gid}-a'");
        await b.ExecuteAsync($"COMMIT PREPARED '{gid}-b'");
        stockRowHolds.Released(stockLocked);
        await a.ExecuteAsync("DELETE FROM xa_decision_log WHERE gid = @gid", new { gid });
        return OrderOutcome.Committed;
    }

    private static async Task AbortAsync(NpgsqlConnection connection)
    {
        try
        {
            await connection.ExecuteAsync("ROLLBACK TRANSACTION");
        }
        catch (PostgresException)
        {
            // Not in a transaction any more.
        }
    }
}
