using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

public class GlobalLockTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task A_second_transaction_on_the_same_row_waits_for_the_first_then_proceeds()
    {
        const string sku = "contended";
        await env.SeedStockAsync([sku], 100);
        using var lockWaits = new LockWaits();
        var firstWrote = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        var firstReleased = 0;
        string? secondXid = null;

        var first = Task.Run(async () =>
        {
            await using var gtx = await env.Client.BeginAsync("first", TimeSpan.FromSeconds(30));
            await using (var inventory = await env.Inventory.OpenConnectionAsync())
            {
                await inventory.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = @sku", new { sku });
            }
            firstWrote.SetResult();
            await releaseFirst.Task;
            await gtx.CommitAsync();
        });
        await firstWrote.Task;

        var second = Task.Run(async () =>
        {
            await using var gtx = await env.Client.BeginAsync("second", TimeSpan.FromSeconds(30));
            Volatile.Write(ref secondXid, gtx.Xid);
            await using (var inventory = await env.Inventory.OpenConnectionAsync())
            {
                await inventory.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = @sku", new { sku });
            }
            // The write went through only once the first transaction let go of the row.
            Assert.Equal(1, Volatile.Read(ref firstReleased));
            await gtx.CommitAsync();
        });
        // The second transaction met the first one's global lock: from now on it waits.
        await lockWaits.RefusedAsync(() => Volatile.Read(ref secondXid));
        Assert.False(second.IsCompleted, "the second transaction must wait for the first one's global lock");
        Volatile.Write(ref firstReleased, 1);
        releaseFirst.SetResult();
        await Task.WhenAll(first, second);

        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(10));
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(98, await check.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
    }

    [Fact]
    public async Task The_waiter_gives_up_with_GlobalLockConflictException_and_changes_nothing()
    {
        const string sku = "held";
        await env.SeedStockAsync([sku], 100);
        await using var holder = await env.Client.BeginAsync("holder", TimeSpan.FromSeconds(30));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await inventory.ExecuteAsync("UPDATE stock SET count = count - 5 WHERE sku = @sku", new { sku });
        }

        await using var impatient = AtProxyClient.Create(new AtProxyOptions
        {
            Coordinator = env.Coordinator.Address, ApplicationId = "impatient", LockRetryCount = 3, LockRetryInterval = TimeSpan.FromMilliseconds(5),
        });
        var source = impatient.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), "inventory-db");
        await Task.Run(async () =>
        {
            // A separate global transaction: without suspending, BeginAsync would join the holder's.
            using var suspended = impatient.Suspend();
            await using var gtx = await impatient.BeginAsync("waiter", TimeSpan.FromSeconds(30));
            await using var connection = await source.OpenConnectionAsync();
            // In an explicit local transaction the statements cannot be re-run: the commit retries registration.
            await using var tx = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("UPDATE stock SET count = 0 WHERE sku = @sku", new { sku }, tx);
            var conflict = await Assert.ThrowsAsync<GlobalLockConflictException>(() => tx.CommitAsync());
            Assert.Equal(holder.Xid, conflict.HolderXid);
            Assert.Contains(sku, conflict.Message);
        });

        await holder.RollbackAsync();
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(100, await check.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
    }

    [Fact]
    public async Task Select_for_update_waits_for_the_global_lock_and_then_reads_the_committed_value()
    {
        const string sku = "read-for-update";
        await env.SeedStockAsync([sku], 100);
        var holder = await env.Client.BeginAsync("holder", TimeSpan.FromSeconds(30));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await inventory.ExecuteAsync("UPDATE stock SET count = 60 WHERE sku = @sku", new { sku });
        }
        var holderCommitting = 0;
        var read = Task.Run(async () =>
        {
            using var suspended = env.Client.Suspend();
            await using var reader = await env.Client.BeginAsync("reader", TimeSpan.FromSeconds(30));
            await using var connection = await env.Inventory.OpenConnectionAsync();
            var count = await connection.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku FOR UPDATE", new { sku });
            // The read returned only once the holder's commit released the row.
            Assert.Equal(1, Volatile.Read(ref holderCommitting));
            await reader.CommitAsync();
            return count;
        });
        await LockWaits.SelectForUpdateWaitingAsync(env.InventoryConnectionString);
        Assert.False(read.IsCompleted, "SELECT ... FOR UPDATE must wait while another global transaction holds the row");
        Volatile.Write(ref holderCommitting, 1);
        await holder.CommitAsync();
        await holder.DisposeAsync();
        Assert.Equal(60, await read);
    }

    [Fact]
    public async Task A_GlobalLock_scope_keeps_a_plain_local_write_off_rows_of_an_undecided_global_transaction()
    {
        const string sku = "global-lock-scope";
        await env.SeedStockAsync([sku], 100);
        var holder = await env.Client.BeginAsync("holder", TimeSpan.FromSeconds(30));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await inventory.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = @sku", new { sku });
        }

        await using var impatient = AtProxyClient.Create(new AtProxyOptions
        {
            Coordinator = env.Coordinator.Address, ApplicationId = "batch-job", LockRetryCount = 3, LockRetryInterval = TimeSpan.FromMilliseconds(5),
        });
        var source = impatient.Wrap(NpgsqlDataSource.Create(env.InventoryConnectionString), "inventory-db");
        await Task.Run(async () =>
        {
            using var suspended = impatient.Suspend();
            using var scope = impatient.GlobalLock();
            await using var connection = await source.OpenConnectionAsync();
            var conflict = await Assert.ThrowsAsync<GlobalLockConflictException>(() => connection.ExecuteAsync("UPDATE stock SET count = 0 WHERE sku = @sku", new { sku }));
            Assert.Equal(holder.Xid, conflict.HolderXid);
            Assert.Contains($"{conflict.Table}:{conflict.PrimaryKey} is locked by global transaction {holder.Xid}; a GlobalLock scope gave up waiting for it", conflict.Message);
        });

        await holder.RollbackAsync();
        await holder.DisposeAsync();
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(100, await check.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku }));
        // Nothing was registered for the GlobalLock write: no branch, no undo row.
        Assert.Equal(0, await OrderInventoryEnvironment.UndoRowCountAsync(env.InventoryConnectionString));
    }
}
