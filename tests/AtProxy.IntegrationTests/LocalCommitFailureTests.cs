using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The undo row and the COMMIT of a branch travel in one round trip; these tests make the COMMIT
/// itself fail (a deferred constraint is checked only then) and check that nothing of the branch
/// is kept anywhere: not the row, not the undo row, not its global locks.
/// </summary>
public class LocalCommitFailureTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private async Task CreateDeferredTableAsync()
    {
        await using var setup = new NpgsqlConnection(env.InventoryConnectionString);
        await setup.ExecuteAsync("""
            CREATE TABLE IF NOT EXISTS reservations (
                id int PRIMARY KEY,
                slot int NOT NULL,
                CONSTRAINT reservations_slot_key UNIQUE (slot) DEFERRABLE INITIALLY DEFERRED);
            TRUNCATE reservations;
            INSERT INTO reservations VALUES (1, 1), (2, 2);
            """);
    }

    [Fact]
    public async Task A_commit_refused_by_a_deferred_constraint_leaves_no_row_no_undo_and_no_lock()
    {
        await CreateDeferredTableAsync();
        await using var gtx = await env.Client.BeginAsync("deferred", TimeSpan.FromSeconds(30));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            // Fine until COMMIT, which finds two rows in slot 1.
            var refused = await Assert.ThrowsAsync<PostgresException>(() => inventory.ExecuteAsync("UPDATE reservations SET slot = 1 WHERE id = 2"));
            Assert.Equal(PostgresErrorCodes.UniqueViolation, refused.SqlState);
            Assert.Equal("reservations_slot_key", refused.ConstraintName);
        }

        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(2, await check.ExecuteScalarAsync<int>("SELECT slot FROM reservations WHERE id = 2"));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid = gtx.Xid }));
        // The branch was reported failed, so its lock is released before the global transaction ends.
        Assert.Empty(await env.LocksAsync(gtx.Xid));
        var transaction = (await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid })).Transaction;
        Assert.Equal(BranchStatus.PhaseOneFailed, Assert.Single(transaction.Branches).Status);

        // The rest of the global transaction carries on and commits.
        await using (var orders = await env.Orders.OpenConnectionAsync())
        {
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES ('deferred', 1)");
        }
        await gtx.CommitAsync();
        Assert.True(gtx.Status.IsCommitDecided());
    }

    [Fact]
    public async Task The_same_failure_inside_an_explicit_local_transaction_is_raised_by_commit()
    {
        await CreateDeferredTableAsync();
        await using var gtx = await env.Client.BeginAsync("deferred-explicit", TimeSpan.FromSeconds(30));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await using var local = await inventory.BeginTransactionAsync();
            await inventory.ExecuteAsync("UPDATE reservations SET slot = 1 WHERE id = 2", transaction: local);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => local.CommitAsync());
            Assert.Equal(PostgresErrorCodes.UniqueViolation, refused.SqlState);
        }
        await gtx.RollbackAsync();

        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(2, await check.ExecuteScalarAsync<int>("SELECT slot FROM reservations WHERE id = 2"));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid = gtx.Xid }));
        Assert.Empty(await env.LocksAsync(gtx.Xid));
    }
}
