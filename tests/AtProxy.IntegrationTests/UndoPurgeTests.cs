using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>A client whose purge looks every 100 ms, three rows per batch, at rows older than 10 minutes.</summary>
public sealed class UndoPurgeEnvironment : OrderInventoryEnvironment
{
    public static readonly TimeSpan Retention = TimeSpan.FromMinutes(10);

    protected override AtProxyOptions ConfigureOptions(AtProxyOptions options)
    {
        options.UndoLogRetention = Retention;
        options.UndoPurgeInterval = TimeSpan.FromMilliseconds(100);
        options.UndoPurgeBatchSize = 3;
        return options;
    }
}

/// <summary>
/// The background purge on a real database and coordinator: rows of finished transactions older
/// than the retention go; younger rows, rows of open transactions and rows of a stopped rollback stay.
/// Rows are dated back with plain SQL, so no test waits for a retention to pass.
/// </summary>
public class UndoPurgeTests(UndoPurgeEnvironment env) : IClassFixture<UndoPurgeEnvironment>
{
    private const string UnknownXid = "tc:987654321";
    private const string UnknownYoungXid = "tc:987654322";

    // Far above the coordinator's branch ids, so no real branch shares a key with these rows.
    private const long Branch = 9_000_000_000;

    [Fact]
    public async Task Purge_deletes_old_markers_and_orphans_of_finished_transactions_and_keeps_young_open_and_rollback_failed_rows()
    {
        await env.SeedStockAsync(["purge-committed", "purge-dirty"], 100);
        var committed = await CommitOneAsync("purge-committed");
        var rolledBack = await EmptyTransactionAsync(commit: false);
        var (failed, failedBranch) = await RollbackFailedAsync("purge-dirty");
        // Last: it stays the flow's ambient transaction until the test ends.
        await using var open = await env.Client.BeginAsync("still-open", TimeSpan.FromMinutes(5));

        await using var db = new NpgsqlConnection(env.InventoryConnectionString);
        await InsertAsync(db, committed, Branch + 1, status: 0, old: true);       // orphan of a committed branch: goes
        await InsertAsync(db, rolledBack, Branch + 2, status: 1, old: true);      // marker of a rolled-back transaction: goes
        await InsertAsync(db, UnknownXid, Branch + 3, status: 0, old: true);      // forgotten by the coordinator, old: goes
        await InsertAsync(db, UnknownXid, Branch + 4, status: 1, old: true);      // the same, a marker: goes
        await InsertAsync(db, open.Xid, Branch + 5, status: 0, old: true);        // open transaction: stays
        await InsertAsync(db, rolledBack, Branch + 6, status: 0, old: true);      // left behind by a rollback: stays for a person
        await InsertAsync(db, committed, Branch + 7, status: 0, old: false);      // younger than the retention: stays
        await InsertAsync(db, UnknownYoungXid, Branch + 8, status: 1, old: false); // unknown but young: stays
        await db.ExecuteAsync("UPDATE atproxy_undo_log SET log_created = now() - interval '1 hour' WHERE xid = @failed", new { failed });

        var gone = new[] { (committed, Branch + 1), (rolledBack, Branch + 2), (UnknownXid, Branch + 3), (UnknownXid, Branch + 4) };
        await Eventually.TrueAsync(async () => (await CountAsync(db, gone)) == 0, TimeSpan.FromSeconds(30), "the old rows of finished transactions to be purged");
        var passes = env.Client.Runtime.ResourceManager.UndoPurge.CompletedPasses;
        await Eventually.TrueAsync(() => Task.FromResult(env.Client.Runtime.ResourceManager.UndoPurge.CompletedPasses >= passes + 2), TimeSpan.FromSeconds(30), "two more purge passes");

        var kept = new[] { (open.Xid, Branch + 5), (rolledBack, Branch + 6), (committed, Branch + 7), (UnknownYoungXid, Branch + 8), (failed, failedBranch) };
        foreach (var row in kept)
        {
            Assert.True(await CountAsync(db, [row]) == 1, $"undo row {row} was purged but must stay");
        }
        Assert.Equal(GlobalStatus.RollbackFailed, (await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = failed })).Transaction.Status);
        await db.ExecuteAsync("DELETE FROM atproxy_undo_log WHERE xid IN (@a, @b, @c, @d)", new { a = open.Xid, b = rolledBack, c = committed, d = UnknownYoungXid });
    }

    private async Task<string> CommitOneAsync(string sku)
    {
        await using var gtx = await env.Client.BeginAsync("purge-commit", TimeSpan.FromSeconds(30));
        await using (var connection = await env.Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
        }
        await gtx.CommitAsync();
        await Eventually.TrueAsync(async () => (await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid })).Transaction.Status == GlobalStatus.Committed,
            TimeSpan.FromSeconds(30), $"{gtx.Xid} to reach COMMITTED");
        return gtx.Xid;
    }

    private async Task<string> EmptyTransactionAsync(bool commit)
    {
        await using var gtx = await env.Client.BeginAsync("purge-empty", TimeSpan.FromSeconds(30));
        if (commit)
        {
            await gtx.CommitAsync();
        }
        else
        {
            await gtx.RollbackAsync();
        }
        return gtx.Xid;
    }

    // A rollback stopped by a dirty write: ROLLBACK_FAILED, its undo row kept for a person.
    private async Task<(string Xid, long BranchId)> RollbackFailedAsync(string sku)
    {
        await using var gtx = await env.Client.BeginAsync("purge-dirty", TimeSpan.FromSeconds(60));
        await using (var connection = await env.Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = count - 10 WHERE sku = @sku", new { sku });
        }
        await using (var plain = new NpgsqlConnection(env.InventoryConnectionString))
        {
            await plain.ExecuteAsync("UPDATE stock SET count = 12345 WHERE sku = @sku", new { sku });
        }
        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        var shown = await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = gtx.Xid });
        return (gtx.Xid, Assert.Single(shown.Transaction.Branches).BranchId);
    }

    private static Task InsertAsync(NpgsqlConnection db, string xid, long branchId, int status, bool old) => db.ExecuteAsync(
        "INSERT INTO atproxy_undo_log (branch_id, xid, context, rollback_info, log_status, log_created, log_modified) " +
        "VALUES (@branchId, @xid, 'test', '\\x'::bytea, @status, now() - @age, now() - @age)",
        new { branchId, xid, status, age = old ? TimeSpan.FromHours(1) : TimeSpan.Zero });

    private static async Task<long> CountAsync(NpgsqlConnection db, IEnumerable<(string Xid, long BranchId)> rows)
    {
        long count = 0;
        foreach (var (xid, branchId) in rows)
        {
            count += await db.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid AND branch_id = @branchId", new { xid, branchId });
        }
        return count;
    }
}
