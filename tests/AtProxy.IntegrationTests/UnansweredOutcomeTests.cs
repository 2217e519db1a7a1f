using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// The coordinator is gone for longer than a call may wait: a commit says plainly that its outcome
/// is not known and names the XID, leaving a transaction's block logs the rollback it could not ask
/// for, and once the coordinator is back the undecided transaction is rolled back at its timeout.
/// </summary>
public class UnansweredOutcomeTests(UnansweredOutcomeTests.Environment env) : IClassFixture<UnansweredOutcomeTests.Environment>
{
    /// <summary>Its own coordinator (the tests kill it), calls that wait 1 s, and a client whose logs the tests read.</summary>
    public sealed class Environment : OrderInventoryEnvironment
    {
        public FakeLogCollector Logs { get; } = new();

        protected override ILoggerFactory ClientLoggerFactory => new LoggerFactory([new FakeLoggerProvider(Logs)]);

        protected override AtProxyOptions ConfigureOptions(AtProxyOptions options)
        {
            options.CoordinatorCallTimeout = TimeSpan.FromSeconds(1);
            return options;
        }
    }

    [Fact]
    public async Task A_commit_no_coordinator_answers_raises_outcome_unknown_with_the_xid_and_the_transaction_rolls_back_at_its_timeout()
    {
        var sku = $"unanswered-commit-{Guid.NewGuid():N}";
        await env.SeedStockAsync([sku]);
        var gtx = await env.Client.BeginAsync("unanswered-commit", TimeSpan.FromSeconds(4));
        await using (gtx)
        {
            await WriteOrderAsync(sku);
            env.Coordinator.Kill();

            var unknown = await Assert.ThrowsAsync<GlobalTransactionOutcomeUnknownException>(() => gtx.CommitAsync());

            Assert.Equal(gtx.Xid, unknown.Xid);
            Assert.Contains(gtx.Xid, unknown.Message);
            Assert.Contains("rolled back when its timeout passes", unknown.Message);
        }
        await env.Coordinator.RestartAsync();

        await env.WaitForStatusAsync(gtx.Xid, GlobalStatus.TimeoutRollbacked, TimeSpan.FromSeconds(30));
        await env.WaitForQuiescenceAsync();
        await env.AssertStockMatchesOrdersAsync([sku], committed: 0);
    }

    [Fact]
    public async Task Leaving_a_block_while_no_coordinator_answers_logs_the_rollback_it_could_not_ask_for_and_does_not_throw()
    {
        var sku = $"unanswered-rollback-{Guid.NewGuid():N}";
        await env.SeedStockAsync([sku]);
        string xid;
        await using (var gtx = await env.Client.BeginAsync("unanswered-rollback", TimeSpan.FromSeconds(4)))
        {
            xid = gtx.Xid;
            await WriteOrderAsync(sku);
            env.Coordinator.Kill();
        }

        var logged = env.Logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Message.Contains(xid, StringComparison.Ordinal)).ToList();
        Assert.True(logged.Count > 0, "a warning naming " + xid + "; logged: " + string.Join(" | ", env.Logs.GetSnapshot().Select(r => r.Message)));
        Assert.Contains("timeout", logged[0].Message);

        await env.Coordinator.RestartAsync();
        await env.WaitForStatusAsync(xid, GlobalStatus.TimeoutRollbacked, TimeSpan.FromSeconds(30));
        await env.WaitForQuiescenceAsync();
        await env.AssertStockMatchesOrdersAsync([sku], committed: 0);
    }

    private async Task WriteOrderAsync(string sku)
    {
        await using (var orders = await env.Orders.OpenConnectionAsync())
        {
            await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
        }
        await using (var inventory = await env.Inventory.OpenConnectionAsync())
        {
            Assert.Equal(1, await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku }));
        }
    }
}
