using System.Globalization;
using AtProxy.Cli.Tests.Support;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Tests;

/// <summary>
/// The CLI tells a person what a transaction waits for and what is left to do, and refuses to act
/// on a status that is not the one the person (or script) saw.
/// </summary>
[Collection(CliCollection.Name)]
public class OperatorGuidanceTests(CliEnvironment env)
{
    private const string NobodysResource = "nobody-db";

    // A rollback whose branches belong to a resource no application serves: phase 2 waits for ever.
    private async Task<(string Xid, long[] Branches)> RollbackNobodyServesAsync(int branches)
    {
        var tm = new TransactionManager.TransactionManagerClient(env.Coordinator.Channel);
        var rm = new ResourceManager.ResourceManagerClient(env.Coordinator.Channel);
        var xid = (await tm.BeginAsync(new BeginRequest { ApplicationId = CliEnvironment.ClientApplicationId, Name = "nobody", TimeoutMs = 60_000 })).Xid;
        var ids = new long[branches];
        for (var i = 0; i < branches; i++)
        {
            var request = new RegisterBranchRequest { Xid = xid, ResourceId = NobodysResource, ApplicationId = CliEnvironment.ClientApplicationId };
            request.LockKeys.Add(new LockKey { Table = "public.nobody", PrimaryKey = $"{xid}-{i}" });
            ids[i] = (await rm.RegisterBranchAsync(request)).BranchId;
        }
        await tm.RollbackAsync(new RollbackRequest { Xid = xid });
        return (xid, ids);
    }

    [Fact]
    public async Task An_intervention_expecting_another_status_is_refused_and_changes_nothing()
    {
        var (xid, _) = await env.CreateDirtyWriteAsync("expect-status");

        var stale = await env.Cli.RunAsync("tx", "retry", xid, "--reason", "fixed", "--yes", "--expect-status", "rollback-retrying");
        Assert.Equal(1, stale.ExitCode);
        Assert.Contains($"it is ROLLBACK_FAILED now, not the ROLLBACK_RETRYING you saw; reload and decide again", stale.StandardError);
        Assert.Equal(GlobalStatus.RollbackFailed, (await env.GetTransactionAsync(xid)).Transaction.Status);
        Assert.DoesNotContain((await env.GetTransactionAsync(xid)).History, h => h.Actor == CliEnvironment.OperatorName);

        var unknown = await env.Cli.RunAsync("tx", "retry", xid, "--reason", "fixed", "--yes", "--expect-status", "stuck");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("'stuck' is not a transaction status", unknown.StandardError);

        // The status seen now is the status: the branch is forgotten, and nothing remains.
        var branch = (await env.GetTransactionAsync(xid)).Transaction.Branches[0].BranchId.ToString(CultureInfo.InvariantCulture);
        var forget = await env.Cli.RunAsync("branch", "forget", xid, branch, "--reason", "kept the outside write", "--yes", "--expect-status", "rollback-failed");
        Assert.True(forget.ExitCode == 0, forget.ToString());
        Assert.Contains($"branch {branch} is forgotten; the transaction is FINISHED: nothing remains to do.", forget.StandardOutput);

        // The audit has the forget (and not the refused retry), with who, why and the statuses.
        var audit = await env.Cli.RunAsync("audit", "list", "--xid", xid, "--json");
        Assert.True(audit.ExitCode == 0, audit.ToString());
        var entry = Assert.Single(audit.Json().GetProperty("interventions").EnumerateArray());
        Assert.Equal(("forget_branch", CliEnvironment.OperatorName, "kept the outside write", "ROLLBACK_FAILED", "FINISHED", branch),
            (entry.GetProperty("action").GetString(), entry.GetProperty("actor").GetString(), entry.GetProperty("reason").GetString(),
             entry.GetProperty("statusBefore").GetString(), entry.GetProperty("statusAfter").GetString(),
             entry.GetProperty("branchId").GetInt64().ToString(CultureInfo.InvariantCulture)));
        var table = await env.Cli.RunAsync("audit", "list");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("forget_branch", table.StandardOutput);
        Assert.Contains(xid, table.StandardOutput);
        var bad = await env.Cli.RunAsync("audit", "list", "--xid", "no colon");
        Assert.Equal(2, bad.ExitCode);
    }

    [Fact]
    public async Task Tx_show_says_what_a_stopped_rollback_waits_for()
    {
        var (xid, branchId) = await env.CreateDirtyWriteAsync("show-waiting");

        var shown = await env.Cli.RunAsync("tx", "show", xid);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains($"waiting for", shown.StandardOutput);
        Assert.Contains($"branch {branchId}: cannot roll back: ", shown.StandardOutput);
        var json = (await env.Cli.RunAsync("tx", "show", xid, "--json")).Json().GetProperty("transaction");
        Assert.StartsWith($"branch {branchId}: cannot roll back: ", json.GetProperty("waitingFor").GetString());
        var branch = json.GetProperty("branches")[0];
        Assert.EndsWith("a person must repair the data, then retry or forget the branch", branch.GetProperty("waitingFor").GetString());
        Assert.True(branch.GetProperty("failedAttempts").GetInt32() >= 1);

        var cleanup = await env.Cli.RunAsync("branch", "forget", xid, branchId.ToString(CultureInfo.InvariantCulture), "--reason", "test cleanup", "--yes");
        Assert.True(cleanup.ExitCode == 0, cleanup.ToString());
    }

    [Fact]
    public async Task Tx_retry_wait_says_it_waits_for_a_resource_manager_and_forget_says_what_remains()
    {
        var (xid, branches) = await RollbackNobodyServesAsync(2);

        var retry = await env.Cli.RunAsync("tx", "retry", xid, "--reason", "is the service up?", "--yes", "--wait", "--wait-timeout", "2s");
        Assert.Equal(1, retry.ExitCode);
        var waits = $"phase 2 of branch {branches[1]} waits: no resource manager for {NobodysResource} is connected";
        Assert.Contains($"{xid} ROLLBACK_RETRYING: {waits}", retry.StandardOutput);
        Assert.Contains($"'{xid}' is still ROLLBACK_RETRYING after 2s: {waits} (the application that owns the resource must be running", retry.StandardError);

        var first = await env.Cli.RunAsync("branch", "forget", xid, branches[1].ToString(CultureInfo.InvariantCulture), "--reason", "nobody serves it", "--yes");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains($"branch {branches[1]} is forgotten; the transaction is ROLLBACK_RETRYING: phase 2 goes on until its other branch {branches[0]} is rolled back", first.StandardOutput);

        var last = await env.Cli.RunAsync("branch", "forget", xid, branches[0].ToString(CultureInfo.InvariantCulture), "--reason", "nobody serves it", "--yes");
        Assert.True(last.ExitCode == 0, last.ToString());
        await env.WaitForStatusAsync(xid, GlobalStatus.Finished, TimeSpan.FromSeconds(30));
        Assert.Empty(await env.LocksAsync(xid));
    }
}
