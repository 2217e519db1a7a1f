using AtProxy.Testing;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// A global transaction waiting at its local commit for a row whose holder is rolling back holds
/// that row locked in its own local transaction, and the holder's rollback must restore it: the
/// waiter gives way at once (Seata's fail-fast) instead of holding the rollback up until its retries
/// run out.
/// </summary>
public class RollingBackHolderTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task A_writer_waiting_for_a_holder_that_rolls_back_gives_way_and_the_rollback_restores_the_row()
    {
        const string sku = "rolling-back-holder";
        await env.SeedStockAsync([sku], 100);
        var holder = await env.Client.BeginAsync("holder", TimeSpan.FromSeconds(60));
        var holderXid = holder.Xid;
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
        }

        // Retries that would outlast the test many times over: only giving way ends the wait in time.
        await using var patient = AtProxyClient.Create(new AtProxyOptions
        {
            Coordinator = env.Coordinator.Address, ApplicationId = "patient", LockRetryCount = 100_000,
            LockRetryInterval = TimeSpan.FromMilliseconds(20), LockRetryMaxInterval = TimeSpan.FromMilliseconds(100),
        });
        var source = patient.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), "inventory-db");
        var waiter = Task.Run(async () =>
        {
            using var suspended = patient.Suspend();
            await using var gtx = await patient.BeginAsync("waiter", TimeSpan.FromSeconds(120));
            await using var connection = await source.OpenConnectionAsync();
            await using var tx = await connection.BeginTransactionAsync();
            // The holder committed its branch locally: this write takes the row lock at once.
            await connection.ExecuteAsync("UPDATE stock SET count = 0 WHERE sku = @sku", new { sku }, tx);
            return await Assert.ThrowsAsync<GlobalLockConflictException>(() => tx.CommitAsync());
        });
        // Written and committing: its session sits idle in its transaction, holding the row, while the
        // commit registers with the coordinator and waits out the holder's global lock.
        await Eventually.TrueAsync(async () =>
        {
            await using var activity = new NpgsqlConnection(env.InventoryConnectionString);
            return await activity.ExecuteScalarAsync<bool>("""
                SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                               WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE '%SET count = 0%')
                """);
        }, TimeSpan.FromSeconds(30), "the waiter to have written the row and to be committing");
        Assert.False(waiter.IsCompleted, "the waiter is still waiting for the holder, which has not decided");

        // The holder's rollback needs the row the waiter holds; the waiter sees it rolling back and lets go.
        var rollback = holder.RollbackAsync();
        var conflict = await waiter.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(holderXid, conflict.HolderXid);
        Assert.Contains("is rolling back and must restore that row", conflict.Message);
        await rollback.WaitAsync(TimeSpan.FromSeconds(60));
        await holder.DisposeAsync();

        await Eventually.TrueAsync(async () => (await env.LocksAsync(holderXid)).Count == 0, TimeSpan.FromSeconds(60),
            "the holder's rollback to finish and release its lock");
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        var (count, sold) = await check.QuerySingleAsync<(int, int)>("SELECT count, sold FROM stock WHERE sku = @sku", new { sku });
        Assert.Equal((100, 0), (count, sold));
    }
}
