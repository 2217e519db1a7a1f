using System.Globalization;
using AtProxy.Cli.Tests.Support;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Tests;

/// <summary>
/// The 3 a.m. case: a rollback stopped by a dirty write (ROLLBACK_FAILED, lock held, undo row kept).
/// A person finds it, reads its undo records, fixes the data and lets the rollback finish — or
/// repairs the row by hand and forgets the branch — all through the CLI.
/// </summary>
[Collection(CliCollection.Name)]
public class DirtyWriteRepairTests(CliEnvironment env)
{
    [Fact]
    public async Task A_dirty_write_is_found_inspected_in_the_undo_log_fixed_and_retried_until_Rollbacked()
    {
        const string sku = "dirty-retry";
        var (xid, branchId) = await env.CreateDirtyWriteAsync(sku);
        var db = env.InventoryConnectionString;

        var stuck = await env.Cli.RunAsync("tx", "list", "--status", "rollback-failed");
        Assert.True(stuck.ExitCode == 0, stuck.ToString());
        var row = stuck.RowOf(xid);
        Assert.Contains("ROLLBACK_FAILED", row);
        Assert.Contains("dirty write", row);

        var shown = await env.Cli.RunAsync("tx", "show", xid);
        Assert.Contains("PHASE_TWO_ROLLBACK_FAILED_UNRETRYABLE", shown.StandardOutput);
        Assert.Contains("dirty write", shown.StandardOutput);
        Assert.Contains(sku, shown.StandardOutput);
        var locks = (await env.Cli.RunAsync("locks", "list", "--xid", xid, "--json")).Json();
        Assert.Equal(sku, Assert.Single(locks.GetProperty("locks").EnumerateArray()).GetProperty("primaryKey").GetString());

        // The undo log: one row for the branch, its UPDATE with count and note changed.
        var listed = await env.Cli.RunAsync("undo", "list", "--db", db, "--xid", xid);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("public.stock", listed.RowOf(xid));
        var listedJson = Assert.Single((await env.Cli.RunAsync("undo", "list", "--db", db, "--xid", xid, "--json")).Json().EnumerateArray());
        Assert.Equal(branchId, listedJson.GetProperty("branchId").GetInt64());
        Assert.Equal("undo", listedJson.GetProperty("status").GetString());
        Assert.Equal(1, listedJson.GetProperty("records").GetInt32());

        var undo = await env.Cli.RunAsync("undo", "show", "--db", db, xid);
        Assert.True(undo.ExitCode == 0, undo.ToString());
        Assert.Contains("UPDATE public.stock", undo.StandardOutput);
        Assert.Contains($"sku={sku} · now dirty: changed outside the transaction after phase 1", undo.StandardOutput);
        // column │ type │ before │ after │ now │ changed │ dirty
        Assert.Matches(@"│\s*count\s*│\s*integer\s*│\s*100\s*│\s*90\s*│\s*12345\s*│\s*\*\s*│\s*!\s*│", undo.RowOf("count"));
        Assert.Matches(@"│\s*note\s*│\s*text\s*│\s*NULL\s*│\s*reserved\s*│\s*reserved\s*│\s*\*\s*│\s*│", undo.RowOf("note"));
        Assert.Matches(@"│\s*sku\s*│\s*text\s*│\s*dirty-retry\s*│\s*dirty-retry\s*│\s*dirty-retry\s*│\s*│\s*│", undo.RowOf("sku"));
        Assert.Matches(@"│\s*sold\s*│\s*integer\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*│\s*│", undo.RowOf("sold"));

        var undoJson = Assert.Single((await env.Cli.RunAsync("undo", "show", "--db", db, xid, branchId.ToString(CultureInfo.InvariantCulture), "--json")).Json().EnumerateArray());
        var record = Assert.Single(undoJson.GetProperty("records").EnumerateArray());
        Assert.Equal("UPDATE", record.GetProperty("kind").GetString());
        var change = Assert.Single(record.GetProperty("rows").EnumerateArray());
        Assert.Equal(sku, change.GetProperty("key").GetProperty("sku").GetString());
        Assert.Equal("100", change.GetProperty("before").GetProperty("count").GetString());
        Assert.Equal("90", change.GetProperty("after").GetProperty("count").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, change.GetProperty("before").GetProperty("note").ValueKind);
        Assert.Equal(["count", "note"], change.GetProperty("changed").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("12345", change.GetProperty("current").GetProperty("count").GetString());
        Assert.StartsWith("dirty", change.GetProperty("currentState").GetString());
        Assert.Equal(["count"], change.GetProperty("dirty").EnumerateArray().Select(c => c.GetString()));

        // Refusals change nothing: commit is illegal after rollback was decided; no reason; "no" at the prompt.
        var commit = await env.Cli.RunAsync("tx", "commit", xid, "--reason", "ship it", "--yes");
        Assert.Equal(1, commit.ExitCode);
        Assert.Contains("rollback was decided", commit.StandardError);
        var noReason = await env.Cli.RunAsync("tx", "retry", xid, "--yes");
        Assert.Equal(2, noReason.ExitCode);
        Assert.Contains("--reason", noReason.StandardError);
        var declined = await env.Cli.RunAsync(["tx", "retry", xid, "--reason", "data fixed"], standardInput: "n\n");
        Assert.Equal(1, declined.ExitCode);
        Assert.Contains("ROLLBACK_FAILED", declined.StandardError); // the question shows what is about to change
        Assert.Contains("Not confirmed; nothing was changed", declined.StandardError);
        Assert.Equal(GlobalStatus.RollbackFailed, (await env.GetTransactionAsync(xid)).Transaction.Status);

        // The person puts back the value phase 1 wrote, so the undo applies cleanly, and says yes.
        await env.SetStockBehindTheProxyAsync(sku, 90);
        var fixedUndo = await env.Cli.RunAsync("undo", "show", "--db", db, xid);
        Assert.Contains("now matches after: rollback can restore it", fixedUndo.StandardOutput);
        Assert.DoesNotContain("!", fixedUndo.RowOf("count"));
        var retry = await env.Cli.RunAsync(["tx", "retry", xid, "--reason", "restored count=90 written by the order", "--wait"], standardInput: "y\n");
        Assert.True(retry.ExitCode == 0, retry.ToString());
        Assert.Contains($"retry: {xid} is now ROLLBACKED.", retry.StandardOutput);
        Assert.Equal(GlobalStatus.Rollbacked, (await env.GetTransactionAsync(xid)).Transaction.Status);

        Assert.Equal(100, await env.StockCountAsync(sku));
        Assert.Empty((await env.Cli.RunAsync("locks", "list", "--xid", xid, "--json")).Json().GetProperty("locks").EnumerateArray());
        Assert.Empty((await env.Cli.RunAsync("undo", "list", "--db", db, "--xid", xid, "--json")).Json().EnumerateArray());
        var gone = await env.Cli.RunAsync("undo", "show", "--db", db, xid);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("No undo rows", gone.StandardError);
        var ended = await env.Cli.RunAsync("tx", "rollback", xid, "--reason", "again", "--yes");
        Assert.Equal(1, ended.ExitCode);
        Assert.Contains("has ended", ended.StandardError);
        var json = (await env.Cli.RunAsync("tx", "show", xid, "--json")).Json();
        Assert.Contains(json.GetProperty("history").EnumerateArray(), h =>
            h.GetProperty("reason").GetString() == "restored count=90 written by the order" && h.GetProperty("actor").GetString() == CliEnvironment.OperatorName);
    }

    [Fact]
    public async Task Tx_rollback_resumes_a_failed_rollback_once_the_data_is_fixed()
    {
        const string sku = "dirty-rollback";
        var (xid, _) = await env.CreateDirtyWriteAsync(sku);
        await env.SetStockBehindTheProxyAsync(sku, 90);

        var rollback = await env.Cli.RunAsync("tx", "rollback", xid, "--reason", "outside write undone by hand", "--yes", "--wait", "--json");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        var result = rollback.Json();
        Assert.Equal("rollback", result.GetProperty("action").GetString());
        Assert.Equal(xid, result.GetProperty("xid").GetString());
        Assert.Equal("outside write undone by hand", result.GetProperty("reason").GetString());
        Assert.Equal("ROLLBACKED", result.GetProperty("status").GetString());
        Assert.Equal(100, await env.StockCountAsync(sku));
        Assert.Empty(await env.LocksAsync(xid));
    }

    [Fact]
    public async Task A_branch_repaired_by_hand_is_forgotten_and_its_locks_released()
    {
        const string sku = "dirty-forget";
        var (xid, branchId) = await env.CreateDirtyWriteAsync(sku);
        var branch = branchId.ToString(CultureInfo.InvariantCulture);

        var unknown = await env.Cli.RunAsync("branch", "forget", xid, "999999999", "--reason", "wrong branch", "--yes");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("has no branch 999999999", unknown.StandardError);

        // The person decides the outside write wins and keeps it; the branch's phase 2 is skipped.
        var forget = await env.Cli.RunAsync("branch", "forget", xid, branch, "--reason", "kept the stock count set by the warehouse", "--yes");
        Assert.True(forget.ExitCode == 0, forget.ToString());
        Assert.Contains($"forget: branch {branch} of {xid} is now FINISHED", forget.StandardOutput);
        Assert.Equal(GlobalStatus.Finished, (await env.GetTransactionAsync(xid)).Transaction.Status);
        Assert.Empty(await env.LocksAsync(xid));
        Assert.Equal(12345, await env.StockCountAsync(sku));

        var again = await env.Cli.RunAsync("branch", "forget", xid, branch, "--reason", "twice", "--yes");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("is done already", again.StandardError);
        // Forgetting does not run the branch's phase 2: its undo row stays for the person to delete.
        var undo = await env.Cli.RunAsync("undo", "show", "--db", env.InventoryConnectionString, xid, branch, "--no-current");
        Assert.True(undo.ExitCode == 0, undo.ToString());
        Assert.Matches(@"│\s*count\s*│\s*integer\s*│\s*100\s*│\s*90\s*│\s*\*\s*│$", undo.RowOf("count").TrimEnd());
    }
}
