using System.Text.Json;

namespace AtProxy.Demo.Tests;

/// <summary>
/// The fault campaign (<c>build.ps1 chaos</c>) at two fixed points, so a change that breaks the
/// campaign itself (a crash point that no longer fires, a check that cannot run) or the consistency
/// it checks fails here: the order service killed right after a local commit, on the shared store
/// with three coordinators; the coordinator killed right after a durable commit decision, on the
/// embedded store.
/// </summary>
[Collection(DemoRuns.Name)]
public class ChaosTests
{
    [Fact]
    public async Task A_service_and_a_coordinator_killed_at_protocol_points_leave_everything_consistent()
    {
        // Seed 1 runs the shared store and the first point, seed 2 the embedded store and the second.
        // The campaign's own 60 orders a run: seed 2 strikes at the 11th commit decision, and of 30 orders
        // as few as 10 committed on a loaded machine (the rest rolled back by design), so the fault missed.
        const int orders = 60;
        var run = await DemoProcess.RunAsync(TimeSpan.FromMinutes(6),
            "chaos", "--runs", "2", "--seed", "1", "--orders", $"{orders}", "--points", "proxy.after-local-commit,coordinator.commit-decided");

        Assert.True(run.ExitCode == 0, $"The campaign exited with {run.ExitCode}:\n{run.Output}");
        var runs = run.Report.GetProperty("runResults").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);
        Assert.Equal(["Postgres/proxy.after-local-commit", "Embedded/coordinator.commit-decided"],
            runs.Select(r => $"{r.GetProperty("store").GetString()}/{r.GetProperty("point").GetString()}"));
        foreach (var result in runs)
        {
            Assert.True(result.GetProperty("fired").GetBoolean(), $"The fault of seed {result.GetProperty("seed")} did not strike:\n{run.Output}");
            Assert.Empty(result.GetProperty("violations").EnumerateArray());
            Assert.Equal(JsonValueKind.Null, result.GetProperty("error").ValueKind);
            Assert.Equal(orders, result.GetProperty("transactions").GetInt32());
        }
        Assert.True(runs.Sum(r => r.GetProperty("committed").GetInt32()) > 0, run.Output);
        Assert.True(runs.Sum(r => r.GetProperty("rolledBack").GetInt32()) > 0, run.Output);
        Assert.Contains("fault point", run.Output);
    }

    [Fact]
    public async Task The_coordinator_killed_after_a_shared_store_batch_committed_unanswered_leaves_everything_consistent()
    {
        // Seed 3 runs the shared store with three coordinators; the one the services call first dies
        // once a batch is durable and before any of its callers heard back, well into the run.
        var run = await DemoProcess.RunAsync(TimeSpan.FromMinutes(4),
            "chaos", "--runs", "1", "--seed", "3", "--orders", "60", "--points", "coordinator.store-batch-committed");

        Assert.True(run.ExitCode == 0, $"The campaign exited with {run.ExitCode}:\n{run.Output}");
        var result = Assert.Single(run.Report.GetProperty("runResults").EnumerateArray());
        Assert.Equal("Postgres/coordinator.store-batch-committed", $"{result.GetProperty("store").GetString()}/{result.GetProperty("point").GetString()}");
        Assert.True(result.GetProperty("fired").GetBoolean(), $"The fault did not strike:\n{run.Output}");
        Assert.Empty(result.GetProperty("violations").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("error").ValueKind);
        Assert.Equal(60, result.GetProperty("transactions").GetInt32());
        Assert.Equal(0, result.GetProperty("failed").GetInt32());
    }
}
