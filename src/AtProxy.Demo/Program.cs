using System.CommandLine;
using AtProxy.Demo.Chaos;
using AtProxy.Demo.Scenario;
using AtProxy.Demo.Services;

// The demo itself (the default command); the fault campaign (`chaos`), which runs the same two
// services under crashes; and, as a hidden command, one of the two services: the demo and the
// campaign start this same program with `service --role orders|inventory`.

var orders = new Option<int>("--orders", "-Orders") { Description = "How many orders to place.", DefaultValueFactory = _ => 300 };
var concurrency = new Option<int>("--concurrency", "-Concurrency") { Description = "How many orders may be in flight at once.", DefaultValueFactory = _ => 8 };
var rate = new Option<double>("--rate", "-Rate") { Description = "Orders placed per second.", DefaultValueFactory = _ => 15 };
var noProxy = new Option<bool>("--no-proxy", "-NoProxy") { Description = "Run both services on plain local transactions, without AtProxy." };
var seed = new Option<int>("--seed", "-Seed") { Description = "Seeds the choice of SKUs and failures.", DefaultValueFactory = _ => 8 };
var report = new Option<string?>("--report", "-Report") { Description = "Also write the outcome and the consistency check to this JSON file." };

var root = new RootCommand("AtProxy's demo: an order service and an inventory service on two PostgreSQL databases, with failures injected, checked for consistency.")
{
    orders, concurrency, rate, noProxy, seed, report,
};
AtLeast(orders, 2);
AtLeast(concurrency, 1);
rate.Validators.Add(result =>
{
    if (result.GetValueOrDefault<double>() <= 0)
    {
        result.AddError("--rate must be positive.");
    }
});
root.SetAction((result, cancellationToken) => DemoRun.RunAsync(
    new DemoOptions(result.GetValue(orders), result.GetValue(concurrency), result.GetValue(rate), !result.GetValue(noProxy), result.GetValue(seed), result.GetValue(report)),
    cancellationToken));

var role = new Option<ServiceRole>("--role") { Required = true };
var port = new Option<int>("--port") { Required = true };
var database = new Option<string>("--database") { Required = true };
var coordinator = new Option<string?>("--coordinator");
var inventory = new Option<string?>("--inventory");
var parent = new Option<int?>("--parent-pid");
var additionalCoordinators = new Option<string[]>("--additional-coordinator");
var undoRetention = new Option<long?>("--undo-retention-ms");
var service = new Command("service", "Runs one of the demo's services (started by the demo itself).")
{
    role, port, database, coordinator, inventory, parent, additionalCoordinators, undoRetention,
};
service.Hidden = true;
service.SetAction(result => ServiceHost.RunAsync(
    new ServiceSettings(result.GetValue(role), result.GetValue(port), result.GetValue(database)!, AsUri(result.GetValue(coordinator)), AsUri(result.GetValue(inventory)))
    {
        AdditionalCoordinators = [.. (result.GetValue(additionalCoordinators) ?? []).Select(a => AsUri(a)!)],
        UndoLogRetention = result.GetValue(undoRetention) is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
    },
    result.GetValue(parent)));
root.Subcommands.Add(service);

var runs = new Option<int>("--runs", "-Runs") { Description = "How many runs.", DefaultValueFactory = _ => 10 };
var chaosSeed = new Option<int?>("--seed", "-Seed") { Description = "The first run's seed (run i uses seed + i); a new one when left out." };
var chaosOrders = new Option<int>("--orders", "-Orders") { Description = "Orders placed per run.", DefaultValueFactory = _ => 60 };
var chaosConcurrency = new Option<int>("--concurrency", "-Concurrency") { Description = "Orders in flight at once.", DefaultValueFactory = _ => 6 };
var points = new Option<string[]>("--points", "-Points")
{
    Description = $"Only these faults (comma-separated): {string.Join(", ", FaultPoint.All.Select(p => p.Name))}.",
    AllowMultipleArgumentsPerToken = true,
    CustomParser = result => [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
};
points.Validators.Add(result =>
{
    foreach (var name in result.GetValueOrDefault<string[]>() ?? [])
    {
        if (FaultPoint.All.All(p => p.Name != name))
        {
            result.AddError($"Unknown fault point '{name}'. Known: {string.Join(", ", FaultPoint.All.Select(p => p.Name))}.");
        }
    }
});
var chaosReport = new Option<string?>("--report", "-Report") { Description = "Also write every run to this JSON file." };
var chaos = new Command("chaos", "Runs the fault campaign: each run kills a process (a service or a coordinator) at a protocol point or at a random moment, restarts it and checks consistency.")
{
    runs, chaosSeed, chaosOrders, chaosConcurrency, points, chaosReport,
};
AtLeast(runs, 1);
AtLeast(chaosOrders, 1);
AtLeast(chaosConcurrency, 1);
chaos.SetAction((result, cancellationToken) =>
{
    var chosen = result.GetValue(points) is { Length: > 0 } names ? names.Select(FaultPoint.Named).ToList() : FaultPoint.All;
    var seed = result.GetValue(chaosSeed) ?? Random.Shared.Next(1, 1_000_000);
    return ChaosCampaign.RunAsync(
        new ChaosOptions(result.GetValue(runs), seed, result.GetValue(chaosOrders), result.GetValue(chaosConcurrency), chosen, result.GetValue(chaosReport)),
        cancellationToken);
});
root.Subcommands.Add(chaos);

var parsed = root.Parse(args);
// The demo stops everything it started on Ctrl+C, which takes a few seconds; a service stops the ASP.NET Core way.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = parsed.CommandResult.Command == service ? null : TimeSpan.FromSeconds(60) };
var exitCode = await parsed.InvokeAsync(invocation);
return exitCode;

static void AtLeast(Option<int> option, int minimum) => option.Validators.Add(result =>
{
    if (result.GetValueOrDefault<int>() < minimum)
    {
        result.AddError($"{option.Name} must be at least {minimum}.");
    }
});

static Uri? AsUri(string? text) => text is null ? null : new Uri(text, UriKind.Absolute);
