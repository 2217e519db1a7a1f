using System.Text.Json;
using AtProxy.Cli.Tests.Support;
using Dapper;
using Npgsql;

namespace AtProxy.Cli.Tests;

/// <summary>
/// <c>atproxy undo list|show</c> say how each row's transaction ended — committed, rolled back, open
/// or unknown to the coordinator — and advise by it; with the coordinator down they say so and still
/// show the rows.
/// </summary>
[Collection(CliCollection.Name)]
public class UndoOutcomeTests(CliEnvironment env)
{
    private const string UnknownXid = "tc:987654399";

    [Fact]
    public async Task Undo_list_and_show_name_each_rows_transaction_outcome_and_advise_by_it_also_with_the_coordinator_down()
    {
        const string sku = "outcome-open";
        await env.SeedStockAsync(sku, 30);
        string committed, rolledBack;
        await using (var gtx = await env.Client.BeginAsync("outcome-committed", TimeSpan.FromSeconds(30)))
        {
            await gtx.CommitAsync();
            committed = gtx.Xid;
        }
        await using (var gtx = await env.Client.BeginAsync("outcome-rolled-back", TimeSpan.FromSeconds(30)))
        {
            await gtx.RollbackAsync();
            rolledBack = gtx.Xid;
        }
        // Last: it stays the flow's ambient transaction until it is rolled back at the end.
        await using var open = await env.Client.BeginAsync("outcome-open", TimeSpan.FromSeconds(60));
        await using (var connection = await env.Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = 29 WHERE sku = @sku", new { sku });
        }
        // Undo rows the open transaction's branch would leave had each of these transactions written it.
        await using var db = new NpgsqlConnection(env.InventoryConnectionString);
        foreach (var xid in new[] { committed, rolledBack, UnknownXid })
        {
            await db.ExecuteAsync(
                "INSERT INTO atproxy_undo_log (branch_id, xid, context, rollback_info, log_status) SELECT branch_id, @xid, context, rollback_info, 0 FROM atproxy_undo_log WHERE xid = @open",
                new { xid, open = open.Xid });
        }
        try
        {
            var listed = await env.Cli.RunAsync("undo", "list", "--db", env.InventoryConnectionString, "--limit", "10000", "--json");
            Assert.True(listed.ExitCode == 0, listed.ToString());
            var rows = listed.Json().EnumerateArray().ToList();
            AssertOutcome(rows, open.Xid, "open", "BEGIN");
            AssertOutcome(rows, committed, "committed", "COMMITTED");
            AssertOutcome(rows, rolledBack, "rolled-back", "ROLLBACKED");
            AssertOutcome(rows, UnknownXid, "unknown", null);

            await AssertShownAsync(open.Xid, "transaction open", "now matches after: rollback can restore it");
            await AssertShownAsync(committed, "transaction committed", "now matches after: committed: this row is an audit record / leftover, nothing to restore");
            await AssertShownAsync(rolledBack, "transaction rolled back", "now matches after: rolled back but not restored: a person must decide");
            await AssertShownAsync(UnknownXid, "transaction unknown to the coordinator", "The coordinator does not know this transaction");

            // The coordinator cannot be reached: the rows are still shown, their outcome unknown.
            var down = $"http://127.0.0.1:{CliEnvironment.UnusedPort()}";
            var unreachableList = await env.Cli.RunAsync("undo", "list", "--db", env.InventoryConnectionString, "--xid", committed, "--json", "--coordinator", down);
            Assert.True(unreachableList.ExitCode == 0, unreachableList.ToString());
            var unreachable = Assert.Single(unreachableList.Json().EnumerateArray());
            Assert.Equal("unknown", unreachable.GetProperty("transaction").GetString());
            Assert.Equal(JsonValueKind.Null, unreachable.GetProperty("transactionStatus").ValueKind);
            Assert.Equal("unknown (coordinator unreachable)", unreachable.GetProperty("transactionDetail").GetString());
            var unreachableShow = await env.Cli.RunAsync("undo", "show", "--db", env.InventoryConnectionString, committed, "--coordinator", down);
            Assert.True(unreachableShow.ExitCode == 0, unreachableShow.ToString());
            Assert.Contains("transaction unknown (coordinator unreachable)", unreachableShow.StandardOutput);
            Assert.DoesNotContain("rollback can restore it", unreachableShow.StandardOutput);
        }
        finally
        {
            await db.ExecuteAsync("DELETE FROM atproxy_undo_log WHERE xid IN (@committed, @rolledBack, @unknown)", new { committed, rolledBack, unknown = UnknownXid });
        }
        await env.WaitForResourceManagerAsync(CliEnvironment.ClientApplicationId, CliEnvironment.ResourceId);
        await open.RollbackAsync();
        Assert.Equal(30, await env.StockCountAsync(sku));
    }

    private static void AssertOutcome(List<JsonElement> rows, string xid, string transaction, string? status)
    {
        var row = Assert.Single(rows, r => r.GetProperty("xid").GetString() == xid);
        Assert.Equal(transaction, row.GetProperty("transaction").GetString());
        Assert.Equal(status, row.GetProperty("transactionStatus").GetString());
    }

    private async Task AssertShownAsync(string xid, string heading, string advice)
    {
        var shown = await env.Cli.RunAsync("undo", "show", "--db", env.InventoryConnectionString, xid);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains(heading, shown.StandardOutput);
        Assert.Contains(advice, shown.StandardOutput);
    }
}
