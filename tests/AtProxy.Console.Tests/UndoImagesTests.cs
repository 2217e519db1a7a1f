using AtProxy.Console.Tests.Support;
using AtProxy.Protocol.V1;
using AtProxy.Testing;

namespace AtProxy.Console.Tests;

/// <summary>A branch's undo images come from the resource manager serving its resource; without one the page says so plainly.</summary>
[Collection(ConsoleCollection.Name)]
public class UndoImagesTests(ConsoleEnvironment env)
{
    [Fact]
    public async Task The_undo_view_of_a_branch_no_resource_manager_serves_says_they_are_not_available_naming_the_resource()
    {
        var transactions = new TransactionManager.TransactionManagerClient(env.Coordinator.Channel);
        var resources = new ResourceManager.ResourceManagerClient(env.Coordinator.Channel);
        var begun = await transactions.BeginAsync(new BeginRequest { ApplicationId = "ghost-app", Name = "ghost", TimeoutMs = 300_000 });
        var branch = await resources.RegisterBranchAsync(new RegisterBranchRequest
        {
            Xid = begun.Xid,
            ResourceId = "ghost-db",
            ApplicationId = "ghost-app",
            LockKeys = { new LockKey { Table = "public.ghost", PrimaryKey = "1" } },
        });

        env.Browser.Open($"/undo?xid={Uri.EscapeDataString(begun.Xid)}&branch={branch.BranchId}");
        var problem = env.Browser.Find(".undo-problem").Text;
        Assert.StartsWith("Not available:", problem);
        Assert.Contains("ghost-db", problem);

        // Nothing of it exists in a database: roll it back and forget the branch no one can reach.
        await env.Admin.ForceRollbackAsync(new InterveneRequest { Xid = begun.Xid, Reason = "test cleanup" });
        await env.Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = begun.Xid, BranchId = branch.BranchId, Reason = "test cleanup: no such database" });
        await Eventually.TrueAsync(async () => (await env.GetTransactionAsync(begun.Xid)).Transaction.Status is GlobalStatus.Rollbacked or GlobalStatus.Finished,
            TimeSpan.FromSeconds(20), $"{begun.Xid} to end once its only branch was forgotten");
        await env.WaitForQuiescenceAsync();
    }
}
