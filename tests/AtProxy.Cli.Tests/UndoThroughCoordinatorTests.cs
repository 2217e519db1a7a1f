using System.Globalization;
using System.Text.Json;
using AtProxy.Cli.Tests.Support;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Tests;

/// <summary>
/// <c>atproxy undo show XID</c> without <c>--db</c>: the operator needs no database credentials; the
/// coordinator asks the branch's resource manager, and the view marks the same values as the direct one.
/// </summary>
[Collection(CliCollection.Name)]
public class UndoThroughCoordinatorTests(CliEnvironment env)
{
    [Fact]
    public async Task Undo_show_without_a_connection_string_shows_the_images_the_resource_manager_reads_with_the_same_marks()
    {
        const string sku = "dirty-via-coordinator";
        var (xid, branchId) = await env.CreateDirtyWriteAsync(sku);
        var branch = branchId.ToString(CultureInfo.InvariantCulture);

        var shown = await env.Cli.RunAsync("undo", "show", xid);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains($"branch {branch} · {CliEnvironment.ResourceId} · transaction rollback failed", shown.StandardOutput);
        Assert.Contains("UPDATE public.stock: 1 row(s)", shown.StandardOutput);
        Assert.Contains($"sku={sku} · now dirty: changed outside the transaction after phase 1", shown.StandardOutput);
        // column │ before │ after │ now │ changed │ dirty: the direct view's marks, without the type column.
        Assert.Matches(@"│\s*count\s*│\s*100\s*│\s*90\s*│\s*12345\s*│\s*\*\s*│\s*!\s*│", shown.RowOf("count"));
        Assert.Matches(@"│\s*note\s*│\s*NULL\s*│\s*reserved\s*│\s*reserved\s*│\s*\*\s*│\s*│", shown.RowOf("note"));
        Assert.Matches(@"│\s*sold\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*│\s*│", shown.RowOf("sold"));
        var direct = await env.Cli.RunAsync("undo", "show", "--db", env.InventoryConnectionString, xid);
        foreach (var column in new[] { "sku", "count", "sold", "note" })
        {
            Assert.Equal(Marks(direct.RowOf(column)), Marks(shown.RowOf(column)));
        }

        var json = Assert.Single((await env.Cli.RunAsync("undo", "show", xid, branch, "--json")).Json().EnumerateArray());
        Assert.Equal(CliEnvironment.ResourceId, json.GetProperty("resourceId").GetString());
        Assert.True(json.GetProperty("undoFound").GetBoolean());
        Assert.False(json.GetProperty("truncated").GetBoolean());
        Assert.Equal("rollback-failed", json.GetProperty("transaction").GetString());
        var row = Assert.Single(json.GetProperty("rows").EnumerateArray());
        Assert.Equal("public.stock", row.GetProperty("table").GetString());
        Assert.Equal("update", row.GetProperty("operation").GetString());
        Assert.Equal(sku, row.GetProperty("key").GetProperty("sku").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("before").GetProperty("note").ValueKind);
        Assert.Equal("12345", row.GetProperty("current").GetProperty("count").GetString());
        Assert.Equal(["count", "note"], row.GetProperty("changed").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["count"], row.GetProperty("dirty").EnumerateArray().Select(c => c.GetString()));
        Assert.True(row.GetProperty("rowDirty").GetBoolean());

        var unknown = await env.Cli.RunAsync("undo", "show", xid, "999999999");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains($"'{xid}' has no branch 999999999", unknown.StandardError);
        var schemaAlone = await env.Cli.RunAsync("undo", "show", xid, "--schema", "audit");
        Assert.Equal(2, schemaAlone.ExitCode);
        Assert.Contains("--schema applies to --db only", schemaAlone.StandardError);

        // The person puts back what phase 1 wrote; the retried rollback then restores the row.
        await env.SetStockBehindTheProxyAsync(sku, 90);
        Assert.Contains("now matches after: rollback can restore it", (await env.Cli.RunAsync("undo", "show", xid)).StandardOutput);
        var retry = await env.Cli.RunAsync("tx", "retry", xid, "--reason", "count put back", "--yes", "--wait");
        Assert.True(retry.ExitCode == 0, retry.ToString());
        Assert.Equal(100, await env.StockCountAsync(sku));
        var gone = await env.Cli.RunAsync("undo", "show", xid);
        Assert.True(gone.ExitCode == 0, gone.ToString());
        Assert.Contains("No undo record for this branch", gone.StandardOutput);
    }

    [Fact]
    public async Task Undo_show_through_the_coordinator_names_the_resource_when_no_resource_manager_serves_it()
    {
        var begun = await new TransactionManager.TransactionManagerClient(env.Coordinator.Channel)
            .BeginAsync(new BeginRequest { ApplicationId = "gone-app", Name = "undo-nowhere", TimeoutMs = 600_000 });
        var registered = await new ResourceManager.ResourceManagerClient(env.Coordinator.Channel).RegisterBranchAsync(new RegisterBranchRequest
        {
            Xid = begun.Xid,
            ResourceId = "nowhere-db",
            ApplicationId = "gone-app",
            LockKeys = { new LockKey { Table = "public.stock", PrimaryKey = "nowhere" } },
        });

        var shown = await env.Cli.RunAsync("undo", "show", begun.Xid);
        Assert.Equal(3, shown.ExitCode);
        Assert.Contains($"could not get the undo images of branch {registered.BranchId} of '{begun.Xid}'", shown.StandardError);
        Assert.Contains("No resource manager for 'nowhere-db' is connected", shown.StandardError);

        // Undo images are row data: like every admin call, they need the admin token.
        var anonymous = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => new Admin.AdminClient(env.Coordinator.Channel)
            .GetBranchUndoAsync(new GetBranchUndoRequest { Xid = begun.Xid, BranchId = registered.BranchId }).ResponseAsync);
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, anonymous.StatusCode);

        await env.Admin.ForceRollbackAsync(new InterveneRequest { Xid = begun.Xid, Reason = "test over" });
        await env.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = begun.Xid, BranchId = registered.BranchId, Reason = "nothing was written" });
        await env.WaitForStatusAsync(begun.Xid, GlobalStatus.Finished);
    }

    // The changed and dirty marks at the end of a row of a row table.
    private static string Marks(string row)
    {
        var cells = row.Split('│', StringSplitOptions.TrimEntries);
        return string.Join("|", cells[^3..^1]);
    }
}
