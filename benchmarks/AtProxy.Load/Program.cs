using System.CommandLine;
using AtProxy.Load;
using Spectre.Console;

// The order/inventory transaction under every mode and workload, on the same servers in one run:
//   dotnet run -c Release --project benchmarks/AtProxy.Load -- [--quick] [--clients 16] [--seconds 20]
var quick = new Option<bool>("--quick", "-Quick") { Description = "A short run (a few seconds per mode and workload) for a first look." };
var clients = new Option<int>("--clients") { Description = "Concurrent clients.", DefaultValueFactory = _ => 16 };
var seconds = new Option<int?>("--seconds") { Description = "Seconds per mode and workload (default 20, 4 with --quick)." };
var modes = new Option<string[]>("--modes") { Description = "Modes to run: local, at, xa.", DefaultValueFactory = _ => ["local", "at", "xa"], AllowMultipleArgumentsPerToken = true };
var workloads = new Option<string[]>("--workloads") { Description = "Workloads: uniform, hot, rollback-heavy, hot-with-rollbacks.", DefaultValueFactory = _ => Workload.All.Select(w => w.Name).ToArray(), AllowMultipleArgumentsPerToken = true };
var breakdown = new Option<bool>("--breakdown") { Description = "Print where each mode's time goes: AtProxy and Npgsql spans per transaction." };
var storeComparison = new Option<bool>("--coordinator-stores") { Description = "Also compare the coordinator's stores (embedded, postgres x1, postgres x3).", DefaultValueFactory = _ => true };
var coordinatorClients = new Option<int>("--coordinator-clients") { Description = "Transactions in flight in the coordinator store comparison.", DefaultValueFactory = _ => 64 };
var onlyStores = new Option<bool>("--only-coordinator-stores") { Description = "Run the coordinator store comparison alone (no modes, no workloads)." };
var coordinatorDll = new Option<string?>("--coordinator-dll") { Description = "The store comparison's coordinators from this AtProxy.Coordinator.dll (another build), for before/after runs on one harness." };
var output = new Option<string>("--output") { Description = "Where the report goes.", DefaultValueFactory = _ => Path.Combine("benchmarks", "results") };

var root = new RootCommand("AtProxy load driver: AT vs PostgreSQL two-phase commit vs unprotected local transactions.")
{
    quick, clients, seconds, modes, workloads, breakdown, output, storeComparison, coordinatorClients, onlyStores, coordinatorDll,
};
root.SetAction(async (parse, cancellationToken) =>
{
    var isQuick = parse.GetValue(quick);
    var selected = parse.GetValue(workloads)!.Select(name => Workload.All.FirstOrDefault(w => w.Name == name)
        ?? throw new ArgumentException($"Unknown workload '{name}'; use {string.Join(", ", Workload.All.Select(w => w.Name))}.")).ToList();
    var settings = new LoadSettings(
        Clients: parse.GetValue(clients),
        Duration: TimeSpan.FromSeconds(parse.GetValue(seconds) ?? (isQuick ? 4 : 20)),
        Modes: parse.GetValue(modes)!,
        Workloads: selected,
        OutputDirectory: parse.GetValue(output)!,
        Quick: isQuick);
    var started = DateTimeOffset.UtcNow;
    if (parse.GetValue(onlyStores))
    {
        await AtProxy.Load.CoordinatorStores.CoordinatorStoreComparison.RunAsync(parse.GetValue(coordinatorClients), settings.Duration, settings.OutputDirectory, started,
            line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), parse.GetValue(coordinatorDll));
        return 0;
    }

    AnsiConsole.MarkupLine($"[bold]Starting PostgreSQL and the coordinator[/] ({settings.Clients} clients, {settings.Duration.TotalSeconds:F0} s per run)");
    await using var environment = await LoadEnvironment.StartAsync(settings.Clients);
    // Fresh processes spend their first seconds in the JIT (the coordinator's too); every mode is
    // run once before anything is measured, so the first measured run is not the one that pays.
    AnsiConsole.MarkupLine("[grey]Warming up every mode[/]");
    foreach (var modeName in settings.Modes.Where(environment.Modes.ContainsKey))
    {
        await environment.ResetAsync(Workload.Uniform.Skus);
        await LoadRunner.WarmUpAsync(environment.Modes[modeName], Workload.Uniform, settings.Clients, TimeSpan.FromSeconds(isQuick ? 2 : 8));
    }
    var results = new List<RunResult>();
    foreach (var workload in settings.Workloads)
    {
        foreach (var modeName in settings.Modes)
        {
            if (!environment.Modes.TryGetValue(modeName, out var mode))
            {
                throw new ArgumentException($"Unknown mode '{modeName}'; use local, at or xa.");
            }
            var result = await LoadRunner.RunAsync(environment, mode, workload, settings.Clients, settings.Duration, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), parse.GetValue(breakdown));
            results.Add(result);
            var verdict = result.InconsistentSkus == 0 && result.UndoRowsLeft == 0 && result.LocksLeft == 0 ? "[green]consistent[/]" : $"[red]{result.InconsistentSkus} SKUs inconsistent[/]";
            AnsiConsole.MarkupLine($"{modeName,-5} {workload.Name,-15} [bold]{result.ThroughputPerSecond:F0} tx/s[/]  p99 {result.P99Ms:F1} ms  {verdict}");
            if (result.FirstError is { } error)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{result.Failed} failed; the first: {error}[/]");
            }
        }
    }
    if (parse.GetValue(storeComparison))
    {
        await AtProxy.Load.CoordinatorStores.CoordinatorStoreComparison.RunAsync(parse.GetValue(coordinatorClients), settings.Duration, settings.OutputDirectory, started,
            line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), parse.GetValue(coordinatorDll));
    }
    var (markdown, json) = LoadReport.Write(settings, results, started, environment.DatabaseDurability);
    AnsiConsole.WriteLine();
    AnsiConsole.WriteLine(File.ReadAllText(markdown));
    AnsiConsole.MarkupLineInterpolated($"Report: {markdown} and {json}");
    // Only AtProxy and XA promise consistency; local transactions are expected to break it.
    return results.Any(r => r.Mode != "local" && (r.InconsistentSkus != 0 || r.UndoRowsLeft != 0 || r.LocksLeft != 0)) ? 1 : 0;
});
return await root.Parse(args).InvokeAsync();
