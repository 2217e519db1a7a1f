using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

public class DirtyWriteTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task A_row_changed_outside_the_global_transaction_stops_the_rollback_and_keeps_the_locks()
    {
        const string sku = "dirty";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("dirty-write", TimeSpan.FromSeconds(60));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await inventory.ExecuteAsync("UPDATE stock SET count = count - 10 WHERE sku = @sku", new { sku });
        }
        // Someone writes the row without AtProxy between phase 1 and the rollback.
        await using (var outsider = new NpgsqlConnection(env.InventoryConnectionString))
        {
            await outsider.ExecuteAsync("UPDATE stock SET count = 12345 WHERE sku = @sku", new { sku });
        }

        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);

        await using (var check = new NpgsqlConnection(env.InventoryConnectionString))
        {
            Assert.Equal(12345, await check.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
            // The undo row stays for the person who decides.
            Assert.Equal(1, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid = gtx.Xid }));
        }
        var locks = await env.LocksAsync(gtx.Xid);
        Assert.Contains(locks, l => l.Key.Table == "public.stock" && l.Key.PrimaryKey == sku);

        var shown = await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid });
        Assert.Equal(GlobalStatus.RollbackFailed, shown.Transaction.Status);
        var branch = Assert.Single(shown.Transaction.Branches);
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedUnretryable, branch.Status);
        Assert.Contains("dirty write", branch.LastError);

        // Another global transaction (not this flow's: suspend it) cannot touch the row while a person decides.
        using var suspended = env.Client.Suspend();
        var blocked = AtProxyClient.Create(new AtProxyOptions { Coordinator = env.Coordinator.Address, ApplicationId = "other", LockRetryCount = 2 });
        await using (blocked)
        {
            var source = blocked.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), "inventory-db");
            await using var other = await blocked.BeginAsync("blocked", TimeSpan.FromSeconds(30));
            await using var connection = await source.OpenConnectionAsync();
            var conflict = await Assert.ThrowsAsync<GlobalLockConflictException>(() => connection.ExecuteAsync("UPDATE stock SET count = 0 WHERE sku = @sku", new { sku }));
            Assert.Equal(gtx.Xid, conflict.HolderXid);
            // The holder is stopped in its rollback: the writer gives way at once on every attempt, and the
            // last attempt's exception says which row, who holds it and why the writer did not wait.
            Assert.Contains("stock", conflict.Table);
            Assert.Contains($"{conflict.Table}:{conflict.PrimaryKey} is locked by global transaction {gtx.Xid}; it is rolling back and must restore that row, " +
                $"so global transaction {other.Xid} gave way at once", conflict.Message);
        }
    }
}
