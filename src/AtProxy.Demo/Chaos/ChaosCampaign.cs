using System.Diagnostics;
using System.Globalization;
using AtProxy.Hosting;
using Spectre.Console;

namespace AtProxy.Demo.Chaos;

/// <summary>
/// The randomized fault campaign: runs one after the other on one throw-away PostgreSQL cluster
/// (fresh databases and processes per run), each killing one process at a protocol point or at a
/// random moment, then checking consistency. Exits 1 when any run broke an invariant, 2 when a run
/// could not be set up, printing the seeds that replay them.
/// </summary>
internal static class ChaosCampaign
{
    private const string DirectoryPrefix = "atproxy-chaos-";

    public static async Task<int> RunAsync(ChaosOptions options, CancellationToken cancellationToken)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 160; // a CI log keeps the table's columns whole
        }
        AnsiConsole.MarkupLine($"[bold]Fault campaign[/]: {options.Runs} runs from seed {options.Seed}, {options.Orders} orders per run, {options.Concurrency} at once.");
        foreach (var abandoned in RunDirectory.Abandoned(DirectoryPrefix))
        {
            await EphemeralPostgres.RemoveAbandonedAsync(Path.Combine(abandoned, "pg"));
            RunDirectory.Delete(abandoned);
        }
        var directory = RunDirectory.Create(DirectoryPrefix, 8);
        var results = new List<RunResult>();
        var clock = Stopwatch.StartNew();
        try
        {
            await using var postgres = await EphemeralPostgres.StartAsync(Path.Combine(directory, "pg"),
                new Dictionary<string, string>(StringComparer.Ordinal) { ["shared_buffers"] = "64MB" });
            for (var i = 0; i < options.Runs && !cancellationToken.IsCancellationRequested; i++)
            {
                var plan = RunPlan.For(unchecked(options.Seed + i), options.Orders, options.Points);
                var result = await ChaosRun.ExecuteAsync(postgres, plan, options.Concurrency, cancellationToken);
                results.Add(result);
                Describe(i + 1, options.Runs, result);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[yellow]Interrupted.[/]");
        }
        finally
        {
            RunDirectory.Delete(directory);
        }

        AnsiConsole.WriteLine();
        CampaignTable.Write(results);
        if (options.ReportPath is { } path)
        {
            await CampaignReport.Of(options.Seed, results).WriteAsync(path);
        }
        var broken = results.Where(r => r.Violations.Count > 0).ToList();
        var errors = results.Where(r => r.Error is not null).ToList();
        AnsiConsole.MarkupLine($"{results.Count} runs in {clock.Elapsed.TotalMinutes:0.0} min, campaign seed {options.Seed}.");
        foreach (var run in broken.Concat(errors))
        {
            AnsiConsole.MarkupLine($"[red]seed {run.Plan.Seed}[/] ({Markup.Escape(run.Plan.Fault.Name)}): replay with [bold]dotnet pwsh ./build.ps1 chaos -Runs 1 -Seed {run.Plan.Seed}[/]");
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
        return broken.Count > 0 ? 1 : errors.Count > 0 ? 2 : 0;
    }

    private static void Describe(int number, int runs, RunResult result)
    {
        var plan = result.Plan;
        var fault = plan.Fault.IsRandomKill
            ? $"kill {Target(plan.Target)} at order {plan.KillAtOrder}"
            : $"{plan.Fault.Name}:{plan.Hit} in {Target(plan.Target)}";
        var line = string.Create(CultureInfo.InvariantCulture,
            $"run {number}/{runs} seed {plan.Seed} {plan.Store.ToString().ToLowerInvariant()}: {fault}{(result.Fired ? "" : " (not reached)")}; " +
            $"{result.Transactions} orders, {result.Committed} committed, {result.RolledBack} rolled back, {result.Failed} failed; {result.Elapsed.TotalSeconds:0.0} s");
        var verdict = result.Error is not null ? "[yellow]error[/]" : result.Violations.Count == 0 ? "[green]consistent[/]" : $"[red]{result.Violations.Count} violations[/]";
        AnsiConsole.MarkupLine($"{Markup.Escape(line)} {verdict}");
        if (result.Error is not null)
        {
            AnsiConsole.MarkupLine($"    [yellow]{Markup.Escape(result.Error)}[/]");
        }
        foreach (var (detail, count) in result.FailureDetails.Take(3))
        {
            AnsiConsole.MarkupLine($"    [grey]{count} x {Markup.Escape(detail)}[/]");
        }
        foreach (var violation in result.Violations)
        {
            AnsiConsole.MarkupLine($"    [red]{Markup.Escape(violation)}[/]");
        }
    }

    private static string Target(FaultTarget target) => target switch
    {
        FaultTarget.OrderService => "the order service",
        FaultTarget.InventoryService => "the inventory service",
        _ => "the coordinator",
    };
}
