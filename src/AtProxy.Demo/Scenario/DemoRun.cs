using System.Diagnostics;
using AtProxy.Demo.Contracts;
using AtProxy.Demo.Hosting;
using AtProxy.Demo.Scenario.Locks;
using Grpc.Core;
using Spectre.Console;

namespace AtProxy.Demo.Scenario;

/// <summary>
/// The whole demo: start the servers, place the orders under injected failures, show the global
/// locks of one open order, wait for phase 2, check consistency, report, stop everything.
/// </summary>
internal static class DemoRun
{
    /// <summary>How long the check waits for late requests and phase 2 to finish.</summary>
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(45);

    /// <summary>Runs the demo; returns the process exit code (1 when the run with AtProxy is inconsistent).</summary>
    public static async Task<int> RunAsync(DemoOptions options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Introduce(options);
        try
        {
            await using var environment = await DemoEnvironment.StartAsync(options.UseAtProxy, cancellationToken);
            using var orders = new OrderServiceClient(environment.Orders.Address);

            var plan = PlannedOrder.Plan(options.Orders, options.Seed);
            AnsiConsole.WriteLine();
            var tally = await new OrderLoad(orders, environment.Inventory, options).RunAsync(plan.SkipLast(1).ToList(), cancellationToken);
            AnsiConsole.WriteLine();
            tally.Add(await PlaceLastOrderAsync(environment, orders, plan[^1], cancellationToken));

            var (waited, settled) = await AnsiConsole.Status().StartAsync(
                options.UseAtProxy ? "Waiting for late requests and phase 2 to finish..." : "Waiting for late requests to finish...",
                _ => new QuiescenceWait(environment).WaitAsync(SettleLimit, cancellationToken));
            AnsiConsole.MarkupLine($"[grey]Settled after {waited.TotalSeconds:0.0} s{(settled ? "" : $" (gave up after {SettleLimit.TotalSeconds:0} s)")}.[/]");
            var report = await ConsistencyCheck.RunAsync(environment, tally, settled, cancellationToken);

            AnsiConsole.WriteLine();
            ReportRenderer.Outcomes(tally, options.UseAtProxy);
            AnsiConsole.WriteLine();
            ReportRenderer.Consistency(report, options.UseAtProxy);
            ReportRenderer.Verdict(report, options.UseAtProxy, clock.Elapsed);
            if (options.ReportPath is { } path)
            {
                var outcomes = tally.Counts.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value);
                await new RunReport(options.UseAtProxy, tally.Total, clock.Elapsed.TotalSeconds, outcomes, report.IsConsistent, report).WriteAsync(path);
            }
            AnsiConsole.MarkupLine("[grey]Stopping the services, the coordinator and PostgreSQL...[/]");
            return options.UseAtProxy && !report.IsConsistent ? 1 : 0;
        }
        // Ctrl+C cancels whatever was waiting; a gRPC call reports it as its own CANCELLED status.
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            AnsiConsole.MarkupLine("[yellow]Interrupted.[/] Everything the demo started was stopped and its files deleted.");
            return 130;
        }
        catch (DemoSetupException ex)
        {
            AnsiConsole.MarkupLine($"[red]The demo could not start:[/] {Markup.Escape(ex.Message)}");
            return 2;
        }
    }

    private static async Task<OrderResult> PlaceLastOrderAsync(DemoEnvironment environment, OrderServiceClient orders, PlannedOrder last, CancellationToken cancellationToken)
    {
        var plain = last with { Fault = Fault.None };
        if (environment.Coordinator is not { } coordinator)
        {
            AnsiConsole.MarkupLine("[grey]Without AtProxy there are no global locks: nothing keeps another order off the rows an open order has written.[/]");
            return await orders.PlaceAsync(plain.ToRequest(), cancellationToken);
        }
        ILockView lockView = new AtProxyCliLockView();
        return await HeldOrder.RunAsync(orders, coordinator, lockView, plain, cancellationToken);
    }

    private static void Introduce(DemoOptions options)
    {
        AnsiConsole.Write(new Rule(options.UseAtProxy
            ? "[bold]AtProxy demo[/]: an order service and an inventory service, [green]with AtProxy[/]"
            : "[bold]AtProxy demo[/]: an order service and an inventory service, [red]without AtProxy[/] (plain local transactions)").LeftJustified());
        AnsiConsole.MarkupLine($"""
            {options.Orders} orders, up to {options.Concurrency} at a time, {options.OrdersPerSecond:0} per second. Each order inserts a row into the
            [bold]orders[/] database and asks the inventory service to deduct stock in the [bold]inventory[/] database. Injected failures:
              - the payment is declined after the stock was deducted
              - the inventory service throws after committing its deduction
              - the inventory service answers later than the order's {Services.DemoTimings.OrderTimeout.TotalSeconds:0} s timeout
              - the inventory service is killed (SIGKILL) part-way through and started again
            """);
        AnsiConsole.WriteLine();
    }
}
