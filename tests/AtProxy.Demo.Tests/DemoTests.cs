using System.Text.Json;

namespace AtProxy.Demo.Tests;

/// <summary>
/// The demo end to end, smaller than its default run: real PostgreSQL, the coordinator and both
/// services as processes, the same failures injected. One after the other (one class), since each
/// run already keeps two cores busy.
/// </summary>
[Collection(DemoRuns.Name)]
public class DemoTests
{
    [Fact]
    public async Task With_AtProxy_every_failed_order_is_rolled_back_in_both_databases()
    {
        var run = await DemoProcess.RunAsync("--orders", "60", "--rate", "30");

        Assert.True(run.ExitCode == 0, $"The demo exited with {run.ExitCode}:\n{run.Output}");
        var report = run.Report;
        Assert.True(report.GetProperty("consistent").GetBoolean(), run.Output);
        Assert.Equal(60, report.GetProperty("orders").GetInt32());
        var outcomes = report.GetProperty("outcomes");
        Assert.True(Count(outcomes, "Committed") > 0, run.Output);
        Assert.True(Count(outcomes, "PaymentDeclined") + Count(outcomes, "InventoryFailed") > 0, run.Output);
        var check = report.GetProperty("check");
        Assert.Equal(0, check.GetProperty("globalLocks").GetInt32());
        Assert.Equal(0, check.GetProperty("unfinishedTransactions").GetInt32());
        Assert.Equal(0, check.GetProperty("undo").GetProperty("pending").GetInt32());
        Assert.All(check.GetProperty("skus").EnumerateArray(), sku =>
            Assert.Equal(sku.GetProperty("sold").GetInt32(), sku.GetProperty("orders").GetInt64()));
        Assert.Contains("Global locks while one order", run.Output);
    }

    [Fact]
    public async Task Without_AtProxy_the_same_failures_leave_stock_deducted_for_orders_that_do_not_exist()
    {
        var run = await DemoProcess.RunAsync("--orders", "60", "--rate", "30", "-NoProxy");

        Assert.True(run.ExitCode == 0, $"The demo exited with {run.ExitCode}:\n{run.Output}");
        Assert.False(run.Report.GetProperty("consistent").GetBoolean(), run.Output);
        var skus = run.Report.GetProperty("check").GetProperty("skus").EnumerateArray().ToList();
        Assert.Contains(skus, sku => sku.GetProperty("sold").GetInt32() > sku.GetProperty("orders").GetInt64());
    }

    private static int Count(JsonElement outcomes, string outcome) =>
        outcomes.TryGetProperty(outcome, out var count) ? count.GetInt32() : 0;
}
