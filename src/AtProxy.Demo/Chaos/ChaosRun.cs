using System.Diagnostics;
using AtProxy.Demo.Contracts;
using AtProxy.Hosting;

namespace AtProxy.Demo.Chaos;

/// <summary>
/// One run: start everything with the fault armed, place the orders while the fault strikes and the
/// victim is started again, then check the invariants until they hold or the settling time is up.
/// </summary>
internal static class ChaosRun
{
    /// <summary>
    /// How long a run may take to settle after its orders: the transactions a kill left open time
    /// out (<see cref="Services.DemoTimings.OrderTimeout"/>), phase 2 is retried, a killed service's
    /// undo rows are purged.
    /// </summary>
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(500);

    private const int SetUpAttempts = 3;

    public static async Task<RunResult> ExecuteAsync(EphemeralPostgres postgres, RunPlan plan, int concurrency, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        ChaosEnvironment? environment = null;
        for (var attempt = 1; environment is null; attempt++)
        {
            try
            {
                environment = await ChaosEnvironment.StartAsync(postgres, plan, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A free port taken by another process before a service bound it, on a shared machine: set up again.
                if (attempt == SetUpAttempts)
                {
                    return new RunResult(plan, false, 0, 0, 0, 0, [], clock.Elapsed, $"setting up failed {SetUpAttempts} times, last: {ex.Message}");
                }
            }
        }
        await using (environment)
        {
            var watcher = new FaultWatcher(environment, plan);
            watcher.Start();
            IReadOnlyList<OrderResult> orders;
            ChaosCheck.Result check;
            try
            {
                orders = await ChaosLoad.RunAsync(environment.OrderService, plan, concurrency, watcher, cancellationToken);
                check = await SettleAsync(environment, orders, cancellationToken);
            }
            finally
            {
                await watcher.StopAsync();
            }
            var violations = check.Violations.Concat(watcher.Unexpected).ToList();
            return new RunResult(plan, watcher.Fired, orders.Count, check.Committed, check.RolledBack, check.Failed, violations, clock.Elapsed)
            {
                FailureDetails = [.. orders.Where(o => o.Xid is null).GroupBy(o => o.Detail ?? o.Outcome.ToString()).Select(g => (g.Key, g.Count())).OrderByDescending(g => g.Item2)],
            };
        }
    }

    /// <summary>Checks until everything holds, or returns what the last check found at the deadline.</summary>
    private static async Task<ChaosCheck.Result> SettleAsync(ChaosEnvironment environment, IReadOnlyList<OrderResult> orders, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            ChaosCheck.Result result;
            try
            {
                result = await ChaosCheck.RunAsync(environment, orders, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A coordinator being started again cannot answer yet.
                result = new ChaosCheck.Result([$"the check could not run: {ex.Message}"], 0, 0, orders.Count(o => o.Xid is null));
            }
            if (result.Violations.Count == 0 || deadline.Elapsed > SettleLimit)
            {
                return result;
            }
            await Task.Delay(CheckInterval, cancellationToken);
        }
    }
}
