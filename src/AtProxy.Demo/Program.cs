using System.CommandLine;
using AtProxy.Demo.Scenario;
using AtProxy.Demo.Services;

// The demo itself (the default command) and, as a hidden command, one of its two services: the
// demo starts this same program twice more with `service --role orders|inventory`.

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
var service = new Command("service", "Runs one of the demo's services (started by the demo itself).") { role, port, database, coordinator, inventory, parent };
service.Hidden = true;
service.SetAction(result => ServiceHost.RunAsync(
    new ServiceSettings(result.GetValue(role), result.GetValue(port), result.GetValue(database)!, AsUri(result.GetValue(coordinator)), AsUri(result.GetValue(inventory))),
    result.GetValue(parent)));
root.Subcommands.Add(service);

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
