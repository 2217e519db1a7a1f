using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;
using Grpc.Core;
using Npgsql;

namespace AtProxy.IntegrationTests.UndoImages;

/// <summary>
/// Admin.GetBranchUndo end to end: the coordinator asks the branch's resource manager (the test
/// client's) over its stream, which reads the undo record and the rows now from the database.
/// </summary>
public class UndoImagesTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task A_branch_committed_locally_while_its_transaction_is_open_shows_before_after_and_current()
    {
        const string sku = "undo-open";
        await env.SeedStockAsync([sku]);
        await using var gtx = await env.Client.BeginAsync("undo-open", TimeSpan.FromSeconds(60));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await inventory.ExecuteAsync("UPDATE stock SET count = count - 3, sold = sold + 3 WHERE sku = @sku", new { sku });
        }
        var branchId = await BranchOfAsync(gtx.Xid, env.InventoryResourceId);

        var images = await GetBranchUndoAsync(gtx.Xid, branchId);
        Assert.True(images.UndoFound);
        Assert.False(images.Truncated);
        Assert.Equal(env.InventoryResourceId, images.ResourceId);
        Assert.Equal(env.Client.Runtime.ResourceManager.InstanceId, images.InstanceId);
        var row = Assert.Single(images.Rows);
        Assert.Equal("public.stock", row.Table);
        Assert.Equal("update", row.Operation);
        Assert.Equal([sku], row.PrimaryKey);
        Assert.True(row.ExistsNow);
        Assert.False(row.Dirty);
        Assert.Equal(["sku", "count", "sold"], row.Cells.Select(c => c.Column));
        AssertCell(row, "sku", before: sku, after: sku, current: sku, changed: false, dirty: false);
        Assert.True(Cell(row, "sku").PrimaryKey);
        AssertCell(row, "count", before: "1000000", after: "999997", current: "999997", changed: true, dirty: false);
        AssertCell(row, "sold", before: "0", after: "3", current: "3", changed: true, dirty: false);
        Assert.False(Cell(row, "count").PrimaryKey);

        await gtx.CommitAsync();
        // Phase 2 deletes the undo record: the resource manager then says so instead of failing.
        await Eventually.TrueAsync(async () => !(await GetBranchUndoAsync(gtx.Xid, branchId)).UndoFound, TimeSpan.FromSeconds(20),
            $"the undo record of branch {branchId} to be deleted after the commit");
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_dirty_write_is_marked_on_exactly_its_cell_and_the_rollback_then_refuses_as_dirty()
    {
        const string sku = "undo-dirty";
        await env.SeedStockAsync([sku]);
        await using var gtx = await env.Client.BeginAsync("undo-dirty", TimeSpan.FromSeconds(60));
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            await inventory.ExecuteAsync("UPDATE stock SET count = count - 10, sold = sold + 10 WHERE sku = @sku", new { sku });
        }
        var branchId = await BranchOfAsync(gtx.Xid, env.InventoryResourceId);
        await SetCountBehindTheProxyAsync(sku, 12345);

        var images = await GetBranchUndoAsync(gtx.Xid, branchId);
        var row = Assert.Single(images.Rows);
        Assert.True(row.Dirty);
        Assert.Equal(["count"], row.Cells.Where(c => c.Dirty).Select(c => c.Column));
        AssertCell(row, "count", before: "1000000", after: "999990", current: "12345", changed: true, dirty: true);
        AssertCell(row, "sold", before: "0", after: "10", current: "10", changed: true, dirty: false);

        // What the images mark dirty is what the rollback refuses.
        var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        var branch = Assert.Single((await env.GetTransactionAsync(gtx.Xid)).Transaction.Branches);
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedUnretryable, branch.Status);
        Assert.Contains("dirty write", branch.LastError);
        var kept = Assert.Single((await GetBranchUndoAsync(gtx.Xid, branchId)).Rows);
        Assert.Equal(["count"], kept.Cells.Where(c => c.Dirty).Select(c => c.Column));

        // The person puts back what phase 1 wrote, sees nothing dirty any more, and retries.
        await SetCountBehindTheProxyAsync(sku, int.Parse(Cell(kept, "count").After.Text, System.Globalization.CultureInfo.InvariantCulture));
        var repaired = Assert.Single((await GetBranchUndoAsync(gtx.Xid, branchId)).Rows);
        Assert.False(repaired.Dirty);
        Assert.DoesNotContain(repaired.Cells, c => c.Dirty);
        await env.Admin.RetryAsync(new InterveneRequest { Xid = gtx.Xid, Reason = "count written by phase 1 put back" });
        await env.WaitForStatusAsync(gtx.Xid, GlobalStatus.Rollbacked);
        await env.AssertStockMatchesOrdersAsync([sku], committed: 0);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task Inserted_deleted_and_updated_rows_show_their_operation_and_null_is_not_an_empty_string()
    {
        long deletedId, updatedId;
        await using (var plain = new NpgsqlConnection(env.OrdersConnectionString))
        {
            deletedId = await plain.ExecuteScalarAsync<long>("INSERT INTO orders (sku, qty, note) VALUES ('undo-deleted', 1, 'gone soon') RETURNING id");
            updatedId = await plain.ExecuteScalarAsync<long>("INSERT INTO orders (sku, qty, note) VALUES ('undo-updated', 1, NULL) RETURNING id");
        }
        var before = await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id");
        await using var gtx = await env.Client.BeginAsync("undo-kinds", TimeSpan.FromSeconds(60));
        await using (var orders = await env.Orders.OpenConnectionAsync())
        await using (var local = await orders.BeginTransactionAsync())
        {
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty, note) VALUES ('undo-empty', 1, '')", transaction: local);
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty, note) VALUES ('undo-null', 1, NULL)", transaction: local);
            await orders.ExecuteAsync("DELETE FROM orders WHERE id = @deletedId", new { deletedId }, local);
            await orders.ExecuteAsync("UPDATE orders SET note = '' WHERE id = @updatedId", new { updatedId }, local);
            await local.CommitAsync();
        }
        var branchId = await BranchOfAsync(gtx.Xid, env.OrdersResourceId);

        var images = await GetBranchUndoAsync(gtx.Xid, branchId);
        Assert.True(images.UndoFound);
        Assert.Equal(["insert", "insert", "delete", "update"], images.Rows.Select(r => r.Operation));
        Assert.DoesNotContain(images.Rows, r => r.Dirty);

        var empty = images.Rows[0];
        Assert.True(empty.ExistsNow);
        Assert.Null(Cell(empty, "note").Before); // no before image: the row did not exist
        Assert.False(Cell(empty, "note").After.IsNull);
        Assert.Equal("", Cell(empty, "note").After.Text);
        Assert.False(Cell(empty, "note").Current.IsNull);
        Assert.Equal("undo-empty", Cell(empty, "sku").After.Text);

        var nulled = images.Rows[1];
        Assert.True(Cell(nulled, "note").After.IsNull);
        Assert.True(Cell(nulled, "note").Current.IsNull);
        Assert.False(Cell(nulled, "note").Dirty);

        var deleted = images.Rows[2];
        Assert.Equal([deletedId.ToString(System.Globalization.CultureInfo.InvariantCulture)], deleted.PrimaryKey);
        Assert.False(deleted.ExistsNow);
        Assert.Equal("gone soon", Cell(deleted, "note").Before.Text);
        Assert.Null(Cell(deleted, "note").After);
        Assert.Null(Cell(deleted, "note").Current);

        var updated = images.Rows[3];
        Assert.Equal(["note"], updated.Cells.Where(c => c.Changed).Select(c => c.Column));
        Assert.True(Cell(updated, "note").Before.IsNull);
        Assert.False(Cell(updated, "note").After.IsNull);
        Assert.Equal("", Cell(updated, "note").Current.Text);

        await gtx.RollbackAsync();
        Assert.Equal(before, await OrderInventoryEnvironment.SnapshotAsync(env.OrdersConnectionString, "orders", "id"));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task An_unknown_transaction_or_branch_is_NOT_FOUND_and_a_malformed_request_INVALID_ARGUMENT()
    {
        var unknownXid = await Assert.ThrowsAsync<RpcException>(() => GetBranchUndoAsync("tc:987654321", 1));
        Assert.Equal(StatusCode.NotFound, unknownXid.StatusCode);
        Assert.Contains("tc:987654321", unknownXid.Status.Detail);

        await using var gtx = await env.Client.BeginAsync("undo-unknown-branch", TimeSpan.FromSeconds(60));
        var unknownBranch = await Assert.ThrowsAsync<RpcException>(() => GetBranchUndoAsync(gtx.Xid, 987654321));
        Assert.Equal(StatusCode.NotFound, unknownBranch.StatusCode);
        Assert.Contains("has no branch 987654321", unknownBranch.Status.Detail);

        var malformed = await Assert.ThrowsAsync<RpcException>(() => GetBranchUndoAsync("not an xid", 1));
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        var noBranch = await Assert.ThrowsAsync<RpcException>(() => GetBranchUndoAsync(gtx.Xid, 0));
        Assert.Equal(StatusCode.InvalidArgument, noBranch.StatusCode);
        Assert.Contains("branch_id", noBranch.Status.Detail);
        await gtx.RollbackAsync();
    }

    private Task<GetBranchUndoResponse> GetBranchUndoAsync(string xid, long branchId) =>
        env.Admin.GetBranchUndoAsync(new GetBranchUndoRequest { Xid = xid, BranchId = branchId }, deadline: DateTime.UtcNow.AddSeconds(15)).ResponseAsync;

    private async Task<long> BranchOfAsync(string xid, string resourceId) =>
        Assert.Single((await env.GetTransactionAsync(xid)).Transaction.Branches, b => b.ResourceId == resourceId).BranchId;

    private async Task SetCountBehindTheProxyAsync(string sku, int count)
    {
        await using var outsider = new NpgsqlConnection(env.InventoryConnectionString);
        await outsider.ExecuteAsync("UPDATE stock SET count = @count WHERE sku = @sku", new { sku, count });
    }

    private static UndoCell Cell(UndoRowImage row, string column) => Assert.Single(row.Cells, c => c.Column == column);

    private static void AssertCell(UndoRowImage row, string column, string before, string after, string current, bool changed, bool dirty)
    {
        var cell = Cell(row, column);
        Assert.Equal((before, after, current), (cell.Before.Text, cell.After.Text, cell.Current.Text));
        Assert.Equal((changed, dirty), (cell.Changed, cell.Dirty));
    }
}
