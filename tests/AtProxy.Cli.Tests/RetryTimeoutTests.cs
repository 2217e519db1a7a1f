using AtProxy.Cli.Tests.Support;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;

namespace AtProxy.Cli.Tests;

/// <summary>
/// Phase 2 that cannot reach a database ends loudly instead of retrying forever: past its retry
/// budget the transaction stops in a retry-timeout status, the webhook hears of it, the status
/// survives a coordinator restart, and once the cause is gone a person's <c>atproxy tx retry</c>
/// finishes it — with nothing left behind.
/// </summary>
public sealed class RetryTimeoutTests(RetryTimeoutEnvironment env) : IClassFixture<RetryTimeoutEnvironment>
{
    // Phase 1 through the inventory service, which then stops: its resource manager is gone.
    private async Task<GlobalTransaction> ReserveThenStopTheServiceAsync(string sku)
    {
        await env.SeedAsync(sku, 100);
        var gtx = await env.Client.BeginAsync("reserve", TimeSpan.FromSeconds(60));
        var (service, inventory) = await env.StartInventoryServiceAsync();
        await using (service)
        await using (inventory)
        using (service.Join(gtx.Xid))
        await using (var connection = await inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = count - 10 WHERE sku = @sku", new { sku });
        }
        await Eventually.TrueAsync(
            async () => !(await env.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).ResourceManagers.Any(m => m.ResourceIds.Contains(RetryTimeoutEnvironment.ResourceId)),
            null, "the inventory service's resource manager to disconnect");
        return gtx;
    }

    [Fact]
    public async Task A_rollback_that_cannot_reach_its_database_stops_in_ROLLBACK_RETRY_TIMEOUT_then_tx_retry_restores_the_row()
    {
        const string sku = "rollback-timeout";
        await using var gtx = await ReserveThenStopTheServiceAsync(sku);
        var xid = gtx.Xid;

        await gtx.RollbackAsync();
        await env.WaitForStatusAsync(xid, GlobalStatus.RollbackRetryTimeout, TimeSpan.FromSeconds(30));

        // Stopped with the row as phase 1 left it, its undo row kept and its lock held.
        Assert.Equal(GlobalTransactionStatus.RollbackRetryTimeout, await gtx.GetStatusAsync());
        Assert.Equal(90, await env.StockCountAsync(sku));
        Assert.Equal(1, await env.UndoRowsOfAsync(xid));
        Assert.Equal(sku, Assert.Single(await env.LocksAsync(xid)).Key.PrimaryKey);
        await Eventually.TrueAsync(() => env.Webhook.AlertsFor(xid, "retry_timeout").Count == 1, null, $"the webhook to receive the retry_timeout alert of {xid}");
        var alert = env.Webhook.AlertsFor(xid, "retry_timeout")[0];
        Assert.Equal(("ROLLBACK_RETRY_TIMEOUT", "reserve", env.ApplicationId),
            (alert.GetProperty("status").GetString(), alert.GetProperty("name").GetString(), alert.GetProperty("application").GetString()));
        Assert.Contains(RetryTimeoutEnvironment.ResourceId, alert.GetProperty("message").GetString());

        // The CLI shows it, by status too, and lists its alert.
        var alerts = await env.Cli.RunAsync("alerts", "list");
        Assert.True(alerts.ExitCode == 0, alerts.ToString());
        Assert.Contains(alerts.RowsOf("retry_timeout"), row => row.Contains(xid, StringComparison.Ordinal) && row.Contains("ROLLBACK_RETRY_TIMEOUT", StringComparison.Ordinal));
        var alertJson = Assert.Single((await env.Cli.RunAsync("alerts", "list", "--json")).Json().EnumerateArray(), a => a.GetProperty("xid").GetString() == xid);
        Assert.Equal(("retry_timeout", "ROLLBACK_RETRY_TIMEOUT"), (alertJson.GetProperty("kind").GetString(), alertJson.GetProperty("status").GetString()));
        var listed = await env.Cli.RunAsync("tx", "list", "--status", "rollback-retry-timeout");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("ROLLBACK_RETRY_TIMEOUT", listed.RowOf(xid));
        var shown = await env.Cli.RunAsync("tx", "show", xid);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("ROLLBACK_RETRY_TIMEOUT", shown.StandardOutput);
        Assert.Contains("PHASE_TWO_ROLLBACK_FAILED_RETRYABLE", shown.StandardOutput);
        var stop = (await env.Cli.RunAsync("tx", "show", xid, "--json")).Json().GetProperty("history").EnumerateArray().Last();
        Assert.Equal("ROLLBACK_RETRY_TIMEOUT", stop.GetProperty("to").GetString());
        Assert.Contains($"MaxRollbackRetryMs = {RetryTimeoutEnvironment.RetryBudgetMs} ms", stop.GetProperty("reason").GetString());

        // A crash and restart keep it stopped, with its lock.
        env.Coordinator.Kill();
        await env.Coordinator.RestartAsync();
        Assert.Equal("ROLLBACK_RETRY_TIMEOUT", (await env.Cli.RunAsync("tx", "show", xid, "--json")).Json().GetProperty("transaction").GetProperty("status").GetString());
        Assert.Single(await env.LocksAsync(xid));

        // The inventory service comes back; only a person resumes the transaction.
        var (service, inventory) = await env.StartInventoryServiceAsync();
        await using (service)
        await using (inventory)
        {
            await Never.WithinAsync(async () => (await env.GetTransactionAsync(xid)).Transaction.Status != GlobalStatus.RollbackRetryTimeout,
                TimeSpan.FromMilliseconds(500), "the transaction to leave ROLLBACK_RETRY_TIMEOUT by itself", "a stopped transaction waits for a person");
            var retry = await env.Cli.RunAsync("tx", "retry", xid, "--reason", "inventory service back", "--yes", "--wait");
            Assert.True(retry.ExitCode == 0, retry.ToString());
            Assert.Contains($"retry: {xid} is now ROLLBACKED.", retry.StandardOutput);

            Assert.Equal(100, await env.StockCountAsync(sku));
            Assert.Equal(0, await env.UndoRowsOfAsync(xid));
            Assert.Empty(await env.LocksAsync(xid));
            Assert.DoesNotContain((await env.Cli.RunAsync("alerts", "list", "--json")).Json().EnumerateArray(), a => a.GetProperty("xid").GetString() == xid);
            var history = (await env.GetTransactionAsync(xid)).History;
            Assert.Contains(history, h => h.From == GlobalStatus.RollbackRetryTimeout && h.Reason == "inventory service back" && h.Actor == "ops-carol");
        }
        Assert.Single(env.Webhook.AlertsFor(xid, "retry_timeout"));
    }

    [Fact]
    public async Task A_commit_that_cannot_reach_its_database_stops_in_COMMIT_RETRY_TIMEOUT_then_tx_retry_cleans_up()
    {
        const string sku = "commit-timeout";
        await using var gtx = await ReserveThenStopTheServiceAsync(sku);
        var xid = gtx.Xid;

        await gtx.CommitAsync();
        await env.WaitForStatusAsync(xid, GlobalStatus.CommitRetryTimeout, TimeSpan.FromSeconds(30));

        // Committed: the application was told so, the locks went with the decision; the undo row waits.
        Assert.True(gtx.Status.IsCommitDecided());
        Assert.Equal(GlobalTransactionStatus.CommitRetryTimeout, await gtx.GetStatusAsync());
        Assert.Equal(90, await env.StockCountAsync(sku));
        Assert.Equal(1, await env.UndoRowsOfAsync(xid));
        Assert.Empty(await env.LocksAsync(xid));
        await Eventually.TrueAsync(() => env.Webhook.AlertsFor(xid, "retry_timeout").Count == 1, null, $"the webhook to receive the retry_timeout alert of {xid}");
        Assert.Equal("COMMIT_RETRY_TIMEOUT", env.Webhook.AlertsFor(xid, "retry_timeout")[0].GetProperty("status").GetString());
        Assert.Contains("COMMIT_RETRY_TIMEOUT", (await env.Cli.RunAsync("tx", "list", "--status", "commit-retry-timeout")).RowOf(xid));

        await env.Coordinator.StopAsync();
        await env.Coordinator.RestartAsync();
        Assert.Equal(GlobalTransactionStatus.CommitRetryTimeout, await gtx.GetStatusAsync());

        var (service, inventory) = await env.StartInventoryServiceAsync();
        await using (service)
        await using (inventory)
        {
            var retry = await env.Cli.RunAsync("tx", "retry", xid, "--reason", "inventory service back", "--yes", "--wait");
            Assert.True(retry.ExitCode == 0, retry.ToString());
            Assert.Contains($"retry: {xid} is now COMMITTED.", retry.StandardOutput);
            // The committed branch's undo row is deleted in the background.
            await Eventually.EqualAsync(0L, () => env.UndoRowsOfAsync(xid), null, $"the undo row of {xid} to be deleted");
        }
        Assert.Equal(90, await env.StockCountAsync(sku));
        Assert.Empty(await env.LocksAsync(xid));
        Assert.Single(env.Webhook.AlertsFor(xid, "retry_timeout"));
    }
}
