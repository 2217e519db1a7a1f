using AtProxy.Protocol.Undo;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The batched delete (and audit mark) of committed branches' undo rows asks for generic plans for its
/// own implicit transaction only: the pooled session, which the application uses next, keeps its settings.
/// </summary>
public class UndoBatchWriteTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    [Fact]
    public async Task A_batched_undo_delete_removes_the_rows_named_and_leaves_the_sessions_plan_setting_alone()
    {
        var xid = "batch-delete:" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await OpenWithUndoRowsAsync(xid);

        var deleted = await env.Orders.Resource.UndoLog.DeleteManyAsync(connection, [(xid, 1), (xid, 2), (xid, 99)], CancellationToken.None);

        Assert.Equal(2, deleted);
        Assert.Equal([3L], (await connection.QueryAsync<long>("SELECT branch_id FROM atproxy_undo_log WHERE xid = @xid", new { xid })).ToList());
        Assert.Equal("auto", await connection.ExecuteScalarAsync<string>("SHOW plan_cache_mode"));
        await connection.ExecuteAsync("DELETE FROM atproxy_undo_log WHERE xid = @xid", new { xid });
    }

    [Fact]
    public async Task A_batched_audit_mark_marks_the_rows_named_and_leaves_the_sessions_plan_setting_alone()
    {
        var xid = "batch-mark:" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await OpenWithUndoRowsAsync(xid);

        var marked = await env.Orders.Resource.UndoLog.MarkCommittedManyAsync(connection, [(xid, 1), (xid, 2)], CancellationToken.None);

        Assert.Equal(2, marked);
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid AND log_status = @committed",
            new { xid, committed = (int)UndoLogStatus.Committed }));
        Assert.Equal("auto", await connection.ExecuteScalarAsync<string>("SHOW plan_cache_mode"));
        await connection.ExecuteAsync("DELETE FROM atproxy_undo_log WHERE xid = @xid", new { xid });
    }

    private async Task<NpgsqlConnection> OpenWithUndoRowsAsync(string xid)
    {
        await env.Orders.Resource.EnsureUndoLogAsync(CancellationToken.None);
        var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync(
            "INSERT INTO atproxy_undo_log (branch_id, xid, context, rollback_info, log_status) SELECT b, @xid, 'test', '\\x00'::bytea, 0 FROM generate_series(1, 3) b",
            new { xid });
        return connection;
    }
}
