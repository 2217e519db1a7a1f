using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The rollback checks the rows of the newest undo record in the round trip that loads the undo row
/// when this process wrote that row in phase 1, and trusts that check only when the loaded row holds
/// exactly the bytes written. Without the hint, or with a row that differs from it, it checks after
/// the load; either way a dirty write stops it with the data untouched, and every row comes back.
/// </summary>
public class RollbackCheckInLoadTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task Without_the_written_undo_hint_the_rollback_checks_after_the_load_and_restores_every_row()
    {
        const string sku = "no-hint";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("no-hint", TimeSpan.FromSeconds(60));
        await DeductTwiceAsync(sku);
        await ForgetHintsAsync(gtx.Xid);

        await gtx.RollbackAsync();

        Assert.Equal((100, 0), await StockAsync(sku));
        await AssertNothingLeftAsync(gtx.Xid);
    }

    [Fact]
    public async Task Without_the_written_undo_hint_a_dirty_write_still_stops_the_rollback_with_the_data_untouched()
    {
        const string sku = "no-hint-dirty";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("no-hint-dirty", TimeSpan.FromSeconds(60));
        await DeductTwiceAsync(sku);
        await ForgetHintsAsync(gtx.Xid);
        await ChangeOutsideAsync(sku);

        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());

        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        await AssertStoppedOnDirtyWriteAsync(gtx.Xid, sku);
    }

    [Fact]
    public async Task An_undo_row_that_differs_from_the_one_written_is_checked_after_the_load_and_restored()
    {
        const string sku = "recoded";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("recoded", TimeSpan.FromSeconds(60));
        await DeductTwiceAsync(sku);
        // The same records, stored in other bytes (compressed): the hint no longer describes the row loaded.
        await RecodeUndoRowsAsync(gtx.Xid);

        await gtx.RollbackAsync();

        Assert.Equal((100, 0), await StockAsync(sku));
        await AssertNothingLeftAsync(gtx.Xid);
    }

    [Fact]
    public async Task An_undo_row_that_differs_from_the_one_written_still_stops_on_a_dirty_write()
    {
        const string sku = "recoded-dirty";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("recoded-dirty", TimeSpan.FromSeconds(60));
        await DeductTwiceAsync(sku);
        await RecodeUndoRowsAsync(gtx.Xid);
        await ChangeOutsideAsync(sku);

        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());

        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        await AssertStoppedOnDirtyWriteAsync(gtx.Xid, sku);
    }

    [Fact]
    public async Task With_the_hint_a_dirty_write_on_a_row_of_the_newest_record_stops_the_rollback_with_the_data_untouched()
    {
        const string sku = "hint-dirty";
        await env.SeedStockAsync([sku], 100);
        await using var gtx = await env.Client.BeginAsync("hint-dirty", TimeSpan.FromSeconds(60));
        await DeductTwiceAsync(sku);
        Assert.True(env.Client.Runtime.ResourceManager.WrittenUndo.Count > 0, "phase 1 to leave the undo row it wrote as a hint");
        await ChangeOutsideAsync(sku);

        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());

        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        await AssertStoppedOnDirtyWriteAsync(gtx.Xid, sku);
    }

    private Task DeductTwiceAsync(string sku) => DeductTwiceAsync(env, sku);

    /// <summary>One branch with two undo records on the same row: two deductions in one local transaction.</summary>
    internal static async Task DeductTwiceAsync(OrderInventoryEnvironment env, string sku)
    {
        await using var inventory = await env.Inventory.OpenConnectionAsync();
        await using var local = await inventory.BeginTransactionAsync();
        await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku }, local);
        await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku }, local);
        await local.CommitAsync();
    }

    private async Task ForgetHintsAsync(string xid)
    {
        await using var inventory = new NpgsqlConnection(env.InventoryConnectionString);
        foreach (var branchId in await inventory.QueryAsync<long>("SELECT branch_id FROM atproxy_undo_log WHERE xid = @xid", new { xid }))
        {
            env.Client.Runtime.ResourceManager.WrittenUndo.Forget(xid, branchId);
        }
    }

    private async Task RecodeUndoRowsAsync(string xid)
    {
        await using var inventory = new NpgsqlConnection(env.InventoryConnectionString);
        var rows = (await inventory.QueryAsync<(long BranchId, byte[] RollbackInfo, string Context)>(
            "SELECT branch_id, rollback_info, context FROM atproxy_undo_log WHERE xid = @xid", new { xid })).ToList();
        Assert.NotEmpty(rows);
        foreach (var row in rows)
        {
            Assert.True(UndoLogCodec.TryDecode(row.RollbackInfo, row.Context, out var log, out var problem), problem);
            var (bytes, context) = UndoLogCodec.Encode(log, compressionThreshold: 0);
            Assert.NotEqual(row.Context, context);
            await inventory.ExecuteAsync("UPDATE atproxy_undo_log SET rollback_info = @bytes, context = @context WHERE xid = @xid AND branch_id = @branchId",
                new { bytes, context, xid, branchId = row.BranchId });
        }
    }

    private async Task ChangeOutsideAsync(string sku)
    {
        await using var outsider = new NpgsqlConnection(env.InventoryConnectionString);
        await outsider.ExecuteAsync("UPDATE stock SET count = 12345 WHERE sku = @sku", new { sku });
    }

    private async Task<(int Count, int Sold)> StockAsync(string sku)
    {
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        return await check.QuerySingleAsync<(int, int)>("SELECT count, sold FROM stock WHERE sku = @sku", new { sku });
    }

    private async Task AssertNothingLeftAsync(string xid)
    {
        await using var check = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid }));
        Assert.Empty(await env.LocksAsync(xid));
    }

    private async Task AssertStoppedOnDirtyWriteAsync(string xid, string sku)
    {
        Assert.Equal((12345, 2), await StockAsync(sku));
        await using (var check = new NpgsqlConnection(env.InventoryConnectionString))
        {
            Assert.Equal(1, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid }));
        }
        Assert.Contains(await env.LocksAsync(xid), l => l.Key.Table == "public.stock" && l.Key.PrimaryKey == sku);
        var shown = await env.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        Assert.Equal(GlobalStatus.RollbackFailed, shown.Transaction.Status);
        var branch = Assert.Single(shown.Transaction.Branches);
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedUnretryable, branch.Status);
        Assert.Contains("dirty write", branch.LastError);
        Assert.Contains("was changed outside the global transaction", branch.LastError);
    }
}
