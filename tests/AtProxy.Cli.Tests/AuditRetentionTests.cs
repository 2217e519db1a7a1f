using AtProxy.Cli.Tests.Support;
using AtProxy.Testing;
using Dapper;
using Npgsql;

namespace AtProxy.Cli.Tests;

/// <summary>
/// Committed images kept as an audit trail: phase-2 commit marks the branch's undo row committed
/// instead of deleting it, the CLI shows it as committed with nothing to restore, and the purge
/// deletes it once the audit retention has passed.
/// </summary>
[Collection(CliCollection.Name)]
public class AuditRetentionTests(CliEnvironment env)
{
    [Fact]
    public async Task Committed_rows_are_kept_marked_committed_shown_as_committed_and_purged_after_the_audit_retention()
    {
        await using var client = AtProxyClient.Create(new AtProxyOptions
        {
            Coordinator = env.Coordinator.Address, ApplicationId = "cli-tests-audit",
            CommittedUndoRetention = TimeSpan.FromHours(1), UndoPurgeInterval = TimeSpan.FromMilliseconds(100),
        });
        await using var source = NpgsqlDataSource.Create(env.InventoryConnectionString);
        var inventory = client.Wrap(source, "inventory-audit-db");
        await env.WaitForResourceManagerAsync("cli-tests-audit", "inventory-audit-db");
        await env.SeedStockAsync("audited", 40);

        string xid;
        await using (var gtx = await client.BeginAsync("audited-change", TimeSpan.FromSeconds(30)))
        {
            await using (var connection = await inventory.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("UPDATE stock SET count = 39, note = 'audited' WHERE sku = 'audited'");
            }
            await gtx.CommitAsync();
            xid = gtx.Xid;
        }
        await using var db = new NpgsqlConnection(env.InventoryConnectionString);
        await Eventually.TrueAsync(async () => await db.ExecuteScalarAsync<int?>("SELECT log_status FROM atproxy_undo_log WHERE xid = @xid", new { xid }) == 2,
            TimeSpan.FromSeconds(30), $"the undo row of {xid} to be marked committed");

        var listed = await env.Cli.RunAsync("undo", "list", "--db", env.InventoryConnectionString, "--xid", xid, "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var row = Assert.Single(listed.Json().EnumerateArray());
        Assert.Equal("committed", row.GetProperty("status").GetString());
        Assert.Equal("committed", row.GetProperty("transaction").GetString());
        Assert.Equal("COMMITTED", row.GetProperty("transactionStatus").GetString());

        var shown = await env.Cli.RunAsync("undo", "show", "--db", env.InventoryConnectionString, xid);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("transaction committed", shown.StandardOutput);
        Assert.Contains("Committed: this row is an audit record of the change, nothing to restore", shown.StandardOutput);
        Assert.Contains("now matches after: committed: this row is an audit record / leftover, nothing to restore", shown.StandardOutput);
        Assert.DoesNotContain("rollback can restore it", shown.StandardOutput);

        // An hour later, as the purge sees it: the row goes.
        await db.ExecuteAsync("UPDATE atproxy_undo_log SET log_modified = now() - interval '2 hours' WHERE xid = @xid", new { xid });
        await Eventually.TrueAsync(async () => await db.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid }) == 0,
            TimeSpan.FromSeconds(30), $"the audit row of {xid} to be purged after its retention");
        Assert.Equal(39, await env.StockCountAsync("audited"));
    }
}
