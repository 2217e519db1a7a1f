using System.Runtime.CompilerServices;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// A rollback the application asks for is recorded as the application's, with its reason (the
/// exception that made it give up, or that it left the block without a commit); a rollback for
/// timeout is the coordinator's and says so.
/// </summary>
public class RollbackReasonTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>
{
    private static string Sku([CallerMemberName] string test = "") => "sku-" + test;

    private string ApplicationActor => $"application:{env.ApplicationId}";

    private async Task<Transition> DecisionAsync(string xid) =>
        Assert.Single((await env.GetTransactionAsync(xid)).History, h => h.From == GlobalStatus.Begin);

    private async Task<int> StockCountAsync(string sku)
    {
        await using var plain = new NpgsqlConnection(env.InventoryConnectionString);
        return await plain.ExecuteScalarAsync<int>("SELECT count FROM stock WHERE sku = @sku", new { sku });
    }

    private async Task TakeOneAsync(string sku)
    {
        await using var inventory = await env.Inventory.OpenConnectionAsync();
        await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
    }

    [Fact]
    public async Task Rollbacks_of_concurrent_transactions_each_record_the_application_and_the_exception_that_caused_them()
    {
        var sku = Sku();
        await env.SeedStockAsync([sku], 100);
        const int Transactions = 12;

        async Task<(string Xid, string Reason)> RunAsync(int i)
        {
            var gtx = await env.Client.BeginAsync("reserve", TimeSpan.FromSeconds(30));
            await using (gtx)
            {
                await TakeOneAsync(sku);
                try
                {
                    throw new InvalidOperationException($"payment {i} was declined");
                }
                catch (InvalidOperationException declined)
                {
                    await gtx.RollbackAsync(declined);
                }
            }
            return (gtx.Xid, $"System.InvalidOperationException: payment {i} was declined");
        }

        var outcomes = await Task.WhenAll(Enumerable.Range(0, Transactions).Select(RunAsync));

        foreach (var (xid, reason) in outcomes)
        {
            await env.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
            var decision = await DecisionAsync(xid);
            Assert.Equal((GlobalStatus.Rollbacking, ApplicationActor, reason), (decision.To, decision.Actor, decision.Reason));
        }
        await using var plain = new NpgsqlConnection(env.InventoryConnectionString);
        Assert.Equal((100, 0), await plain.QuerySingleAsync<(int, int)>("SELECT count, sold FROM stock WHERE sku = @sku", new { sku }));
        Assert.Empty(await env.LocksAsync());
    }

    [Fact]
    public async Task A_block_left_without_a_commit_and_an_explicit_rollback_record_why()
    {
        var sku = Sku();
        await env.SeedStockAsync([sku], 10);
        string left, explicitly, tooLong;
        await using (var gtx = await env.Client.BeginAsync("reserve", TimeSpan.FromSeconds(30)))
        {
            await TakeOneAsync(sku);
            left = gtx.Xid;
        }
        await using (var gtx = await env.Client.BeginAsync("reserve", TimeSpan.FromSeconds(30)))
        {
            await TakeOneAsync(sku);
            await gtx.RollbackAsync();
            explicitly = gtx.Xid;
        }
        await using (var gtx = await env.Client.BeginAsync("reserve", TimeSpan.FromSeconds(30)))
        {
            await gtx.RollbackAsync(new string('x', 5000));
            tooLong = gtx.Xid;
        }

        Assert.Equal((ApplicationActor, "rolled back by the application: the global transaction was disposed without a commit"),
            ((await DecisionAsync(left)).Actor, (await DecisionAsync(left)).Reason));
        Assert.Equal((ApplicationActor, "rolled back by the application"), ((await DecisionAsync(explicitly)).Actor, (await DecisionAsync(explicitly)).Reason));
        var cut = (await DecisionAsync(tooLong)).Reason;
        Assert.Equal(1024, cut.Length);
        Assert.EndsWith("x…", cut);
        await env.WaitForStatusAsync(left, GlobalStatus.Rollbacked);
        await env.WaitForStatusAsync(explicitly, GlobalStatus.Rollbacked);
        Assert.Equal(10, await StockCountAsync(sku));
    }

    [Fact]
    public async Task A_rollback_for_timeout_is_the_coordinators_and_says_after_how_long()
    {
        var sku = Sku();
        await env.SeedStockAsync([sku], 10);
        await using var gtx = await env.Client.BeginAsync("slow", TimeSpan.FromMilliseconds(1500));
        await TakeOneAsync(sku);

        await env.WaitForStatusAsync(gtx.Xid, GlobalStatus.TimeoutRollbacked, TimeSpan.FromSeconds(30));

        var decision = await DecisionAsync(gtx.Xid);
        Assert.Equal((GlobalStatus.TimeoutRollbacking, "coordinator", "timed out after 1500 ms"), (decision.To, decision.Actor, decision.Reason));
        Assert.Equal(10, await StockCountAsync(sku));
    }
}
