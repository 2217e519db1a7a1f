using AtProxy.Demo.Contracts;
using AtProxy.Demo.Hosting;
using Spectre.Console;

namespace AtProxy.Demo.Scenario;

/// <summary>
/// Places the planned orders concurrently at a steady pace, shows progress, and kills the
/// inventory service with SIGKILL part-way through, starting it again at once.
/// </summary>
internal sealed class OrderLoad(OrderServiceClient orders, ServiceProcess inventory, DemoOptions options)
{
    /// <summary>How far into the run the inventory service is killed.</summary>
    private const double KillAt = 0.4;

    /// <summary>Places every order of <paramref name="plan"/>; returns how they ended.</summary>
    public async Task<OutcomeTally> RunAsync(IReadOnlyList<PlannedOrder> plan, CancellationToken cancellationToken)
    {
        var tally = new OutcomeTally();
        var killNumber = (int)(plan.Count * KillAt);
        var killDue = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var bar = progress.AddTask(Describe(tally), maxValue: plan.Count);
                var killer = KillAndRestartAsync(killDue.Task, cancellationToken);
                var start = DateTime.UtcNow;
                await Parallel.ForEachAsync(plan, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken }, async (order, ct) =>
                {
                    var due = start + TimeSpan.FromSeconds(order.Number / options.OrdersPerSecond);
                    if (due > DateTime.UtcNow)
                    {
                        await Task.Delay(due - DateTime.UtcNow, ct);
                    }
                    if (order.Number == killNumber)
                    {
                        killDue.TrySetResult();
                    }
                    tally.Add(await orders.PlaceAsync(order.ToRequest(), ct));
                    bar.Increment(1);
                    bar.Description = Describe(tally);
                });
                killDue.TrySetResult();
                await killer;
            });
        return tally;
    }

    private async Task KillAndRestartAsync(Task due, CancellationToken cancellationToken)
    {
        await due.WaitAsync(cancellationToken);
        var pid = inventory.ProcessId;
        inventory.Kill();
        AnsiConsole.MarkupLine($"[red]  kill -9 {pid}[/]: the inventory service died with requests in flight; starting it again");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await inventory.RestartAsync(cancellationToken);
        AnsiConsole.MarkupLine($"[green]  inventory service is back[/] (pid {inventory.ProcessId}) after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private string Describe(OutcomeTally tally)
    {
        var failed = tally.Total - tally[OrderOutcome.Committed];
        var failedLabel = options.UseAtProxy ? "rolled back" : "failed";
        return $"Orders: [green]{tally[OrderOutcome.Committed]} committed[/], [yellow]{failed} {failedLabel}[/]";
    }
}
