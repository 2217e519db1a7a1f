using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

public class SuspensionTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task A_rollback_that_overtakes_the_local_commit_leaves_a_marker_and_the_late_commit_fails()
    {
        const string sku = "suspended";
        await env.SeedStockAsync([sku], 100);
        var registered = new TaskCompletionSource<(string Xid, long BranchId)>();
        var proceed = new TaskCompletionSource();
        env.Client.Runtime.Committer.AfterBranchRegistered = async (xid, branchId) =>
        {
            registered.TrySetResult((xid, branchId));
            await proceed.Task;
        };
        try
        {
            await using var gtx = await env.Client.BeginAsync("suspension", TimeSpan.FromSeconds(30));
            var write = Task.Run(async () =>
            {
                await using var inventory = await env.Inventory.OpenConnectionAsync();
                await inventory.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = @sku", new { sku });
            });
            var (xid, branchId) = await registered.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(gtx.Xid, xid);

            // The rollback reaches the branch before its local commit: no undo row yet.
            await gtx.RollbackAsync();
            Assert.True(gtx.Status.IsRollbackDecided());
            await using (var check = new NpgsqlConnection(env.InventoryConnectionString))
            {
                Assert.Equal(1, await check.ExecuteScalarAsync<int>("SELECT log_status FROM atproxy_undo_log WHERE xid = @xid AND branch_id = @branchId", new { xid, branchId }));
            }

            proceed.SetResult();
            var late = await Assert.ThrowsAsync<GlobalTransactionException>(() => write);
            Assert.Equal(xid, late.Xid);
        }
        finally
        {
            env.Client.Runtime.Committer.AfterBranchRegistered = null;
            proceed.TrySetResult();
        }

        await using var after = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(100, await after.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
        Assert.Empty(await env.LocksAsync());
    }

    [Fact]
    public async Task A_branch_cannot_join_a_global_transaction_that_was_already_rolled_back()
    {
        const string sku = "late-joiner";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("late", TimeSpan.FromSeconds(30));
        await env.Client.Runtime.Coordinator.RollbackAsync(gtx.Xid, "rolled back behind the block", CancellationToken.None);

        await using var inventory = await env.Inventory.OpenConnectionAsync();
        await Assert.ThrowsAsync<GlobalTransactionException>(() => inventory.ExecuteAsync("UPDATE stock SET count = 0 WHERE sku = @sku", new { sku }));
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(100, await check.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
        var status = await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid });
        Assert.Equal(GlobalStatus.Rollbacked, status.Transaction.Status);
    }
}
