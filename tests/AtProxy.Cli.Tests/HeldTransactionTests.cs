using System.Text.Json;
using AtProxy.Cli.Tests.Support;
using AtProxy.Protocol.V1;
using Dapper;

namespace AtProxy.Cli.Tests;

/// <summary>A global transaction left open after phase 1 holds its row locks; the CLI shows them and can decide it.</summary>
[Collection(CliCollection.Name)]
public class HeldTransactionTests(CliEnvironment env)
{
    [Fact]
    public async Task Locks_list_shows_the_rows_an_open_transaction_holds_oldest_first_with_filters_paging_and_json()
    {
        await env.SeedStockAsync("held-a", 10);
        await env.SeedStockAsync("held-b", 10);
        await using var gtx = await env.Client.BeginAsync("hold-locks", TimeSpan.FromSeconds(60));
        await using (var connection = await env.Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = 'held-a'");
            await connection.ExecuteAsync("UPDATE stock SET count = count - 1 WHERE sku = 'held-b'");
        }

        var table = await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid);
        Assert.True(table.ExitCode == 0, table.ToString());
        var rows = table.RowsOf(CliEnvironment.ResourceId);
        Assert.Equal(2, rows.Count);
        foreach (var expected in new[] { "public.stock", "held-a", gtx.Xid, CliEnvironment.ClientApplicationId })
        {
            Assert.Contains(expected, table.StandardOutput);
        }
        Assert.Contains("held-a", rows[0]); // the older lock is the first row
        Assert.Contains("held-b", rows[1]);
        Assert.Contains("2 lock(s), oldest first", table.StandardOutput);

        var json = (await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid, "--json")).Json();
        var locks = json.GetProperty("locks").EnumerateArray().ToList();
        Assert.Equal(["held-a", "held-b"], locks.Select(l => l.GetProperty("primaryKey").GetString()));
        Assert.All(locks, l =>
        {
            Assert.Equal(gtx.Xid, l.GetProperty("xid").GetString());
            Assert.Equal(CliEnvironment.ResourceId, l.GetProperty("resourceId").GetString());
            Assert.Equal("public.stock", l.GetProperty("table").GetString());
            Assert.Equal(CliEnvironment.ClientApplicationId, l.GetProperty("applicationId").GetString());
            Assert.True(l.GetProperty("branchId").GetInt64() > 0);
            Assert.True(l.GetProperty("ageMs").GetInt64() >= 0);
        });
        Assert.Equal(JsonValueKind.Null, json.GetProperty("nextPageToken").ValueKind);

        var byPrefix = (await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid, "--table", "public.stock", "--key-prefix", "held-b", "--json")).Json();
        Assert.Equal("held-b", Assert.Single(byPrefix.GetProperty("locks").EnumerateArray()).GetProperty("primaryKey").GetString());
        var otherResource = (await env.Cli.RunAsync("locks", "list", "--resource", "orders-db", "--json")).Json();
        Assert.Empty(otherResource.GetProperty("locks").EnumerateArray());

        // One lock per page: the token leads to the second, and --all gathers both.
        var first = (await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid, "--page-size", "1", "--json")).Json();
        var token = first.GetProperty("nextPageToken").GetString();
        Assert.False(string.IsNullOrEmpty(token));
        Assert.Equal("held-a", Assert.Single(first.GetProperty("locks").EnumerateArray()).GetProperty("primaryKey").GetString());
        var second = (await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid, "--page-size", "1", "--page-token", token!, "--json")).Json();
        Assert.Equal("held-b", Assert.Single(second.GetProperty("locks").EnumerateArray()).GetProperty("primaryKey").GetString());
        var paged = await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid, "--page-size", "1");
        Assert.Contains($"--page-token {token}", paged.StandardOutput);
        var all = (await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid, "--page-size", "1", "--all", "--json")).Json();
        Assert.Equal(2, all.GetProperty("locks").GetArrayLength());

        await gtx.RollbackAsync();
        var released = (await env.Cli.RunAsync("locks", "list", "--xid", gtx.Xid, "--json")).Json();
        Assert.Empty(released.GetProperty("locks").EnumerateArray());
    }

    [Fact]
    public async Task Tx_show_and_list_show_an_open_transaction_and_an_operator_rolls_it_back_with_a_reason()
    {
        await env.SeedStockAsync("open-tx", 10);
        await using var gtx = await env.Client.BeginAsync("open-order", TimeSpan.FromSeconds(60));
        await using (var connection = await env.Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = 7 WHERE sku = 'open-tx'");
        }

        var shown = await env.Cli.RunAsync("tx", "show", gtx.Xid);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        foreach (var expected in new[] { gtx.Xid, "open-order", "BEGIN", CliEnvironment.ResourceId, "REGISTERED", "open-tx", "timeout left", "No status changes recorded yet." })
        {
            Assert.Contains(expected, shown.StandardOutput);
        }

        var json = (await env.Cli.RunAsync("tx", "show", gtx.Xid, "--json")).Json();
        var transaction = json.GetProperty("transaction");
        Assert.Equal("BEGIN", transaction.GetProperty("status").GetString());
        Assert.Equal("open-order", transaction.GetProperty("name").GetString());
        var branch = Assert.Single(transaction.GetProperty("branches").EnumerateArray());
        Assert.Equal(CliEnvironment.ResourceId, branch.GetProperty("resourceId").GetString());
        // The proxy reports only failed phase-1 outcomes, so a committed local branch stays REGISTERED.
        Assert.Equal("REGISTERED", branch.GetProperty("status").GetString());
        Assert.Equal(1, branch.GetProperty("lockCount").GetInt32());
        Assert.Equal("open-tx", Assert.Single(json.GetProperty("locks").EnumerateArray()).GetProperty("primaryKey").GetString());
        Assert.InRange(json.GetProperty("timeoutLeftMs").GetInt64(), 1, 60_000);

        Assert.Contains(Xids(await env.Cli.RunAsync("tx", "list", "--status", "begin", "--json")), x => x == gtx.Xid);
        Assert.Contains(Xids(await env.Cli.RunAsync("tx", "list", "--name", "open-order", "--application", CliEnvironment.ClientApplicationId, "--json")), x => x == gtx.Xid);
        Assert.DoesNotContain(Xids(await env.Cli.RunAsync("tx", "list", "--status", "rollback-failed,committed", "--name", "open-order", "--json")), x => x == gtx.Xid);
        Assert.DoesNotContain(Xids(await env.Cli.RunAsync("tx", "list", "--older-than", "1h", "--json")), x => x == gtx.Xid);
        var listed = await env.Cli.RunAsync("tx", "list", "--name", "open-order");
        Assert.Contains(gtx.Xid, listed.RowOf(gtx.Xid));
        Assert.Contains("BEGIN", listed.RowOf(gtx.Xid));

        // Illegal while BEGIN: the coordinator's message is printed, exit 1, nothing changes.
        var retry = await env.Cli.RunAsync("tx", "retry", gtx.Xid, "--reason", "try", "--yes");
        Assert.Equal(1, retry.ExitCode);
        Assert.Contains("only a transaction in a retrying or failed status can be retried", retry.StandardError);
        var forget = await env.Cli.RunAsync("branch", "forget", gtx.Xid, branch.GetProperty("branchId").GetInt64().ToString(), "--reason", "try", "--yes");
        Assert.Equal(1, forget.ExitCode);
        Assert.Contains("still BEGIN", forget.StandardError);

        var rollback = await env.Cli.RunAsync("tx", "rollback", gtx.Xid, "--reason", "customer cancelled on the phone", "--yes");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.Contains($"rollback: {gtx.Xid} is now ROLLBACK", rollback.StandardOutput);
        await env.WaitForStatusAsync(gtx.Xid, GlobalStatus.Rollbacked);
        Assert.Equal(10, await env.StockCountAsync("open-tx"));
        Assert.Empty(await env.LocksAsync(gtx.Xid));

        var history = (await env.Cli.RunAsync("tx", "show", gtx.Xid, "--json")).Json().GetProperty("history").EnumerateArray().ToList();
        var decided = Assert.Single(history, h => h.GetProperty("from").GetString() == "BEGIN");
        Assert.Equal("ROLLBACKING", decided.GetProperty("to").GetString());
        Assert.Equal("customer cancelled on the phone", decided.GetProperty("reason").GetString());
        Assert.Equal(CliEnvironment.OperatorName, decided.GetProperty("actor").GetString());
        var shownAfter = await env.Cli.RunAsync("tx", "show", gtx.Xid);
        Assert.Contains("customer cancelled on the phone", shownAfter.StandardOutput);
        Assert.Contains(CliEnvironment.OperatorName, shownAfter.StandardOutput);
    }

    [Fact]
    public async Task Tx_list_pages_through_transactions_oldest_first()
    {
        var xids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await using var gtx = await env.Client.BeginAsync("paging", TimeSpan.FromSeconds(60));
            xids.Add(gtx.Xid);
            await gtx.RollbackAsync();
        }

        var first = (await env.Cli.RunAsync("tx", "list", "--name", "paging", "--page-size", "2", "--json")).Json();
        Assert.Equal(xids[..2], Xids(first));
        var token = first.GetProperty("nextPageToken").GetString();
        Assert.False(string.IsNullOrEmpty(token));
        var second = (await env.Cli.RunAsync("tx", "list", "--name", "paging", "--page-size", "2", "--page-token", token!, "--json")).Json();
        Assert.Equal(xids[2..], Xids(second));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextPageToken").ValueKind);
        Assert.Equal(xids, Xids((await env.Cli.RunAsync("tx", "list", "--name", "paging", "--page-size", "1", "--all", "--json")).Json()));
    }

    [Fact]
    public async Task Status_shows_health_store_counts_locks_and_connected_resource_managers()
    {
        await env.SeedStockAsync("status", 10);
        await using var gtx = await env.Client.BeginAsync("status-check", TimeSpan.FromSeconds(60));
        await using (var connection = await env.Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = 9 WHERE sku = 'status'");
        }

        var table = await env.Cli.RunAsync("status");
        Assert.True(table.ExitCode == 0, table.ToString());
        foreach (var expected in new[] { "SERVING", "embedded", "locks held", "BEGIN", CliEnvironment.ClientApplicationId, CliEnvironment.ResourceId })
        {
            Assert.Contains(expected, table.StandardOutput);
        }

        var json = (await env.Cli.RunAsync("status", "--json")).Json();
        Assert.Equal("SERVING", json.GetProperty("health").GetString());
        Assert.Equal("embedded", json.GetProperty("storeKind").GetString());
        Assert.True(json.GetProperty("locksHeld").GetInt64() >= 1);
        Assert.True(json.GetProperty("transactionsByStatus").GetProperty("BEGIN").GetInt64() >= 1);
        var manager = Assert.Single(json.GetProperty("resourceManagers").EnumerateArray(), m => m.GetProperty("applicationId").GetString() == CliEnvironment.ClientApplicationId);
        Assert.Contains(CliEnvironment.ResourceId, manager.GetProperty("resourceIds").EnumerateArray().Select(r => r.GetString()));
        await gtx.RollbackAsync();
    }

    private static List<string> Xids(CliResult result) => Xids(result.Json());

    private static List<string> Xids(JsonElement page) =>
        [.. page.GetProperty("transactions").EnumerateArray().Select(t => t.GetProperty("xid").GetString()!)];
}
