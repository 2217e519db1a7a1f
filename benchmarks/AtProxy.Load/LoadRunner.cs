using System.Diagnostics;
using AtProxy.Load.Measurements;
using AtProxy.Load.Modes;

namespace AtProxy.Load;

/// <summary>Runs one mode under one workload with N concurrent clients for a fixed time and measures it.</summary>
internal static class LoadRunner
{
    public static async Task<RunResult> RunAsync(LoadEnvironment environment, IOrderMode mode, Workload workload, int clients, TimeSpan duration, Action<string> progress, bool breakdown = false)
    {
        await environment.ResetAsync(workload.Skus);
        // First statements pay for JIT (and tiered re-JIT of hot code, slow on a busy machine), the
        // parser's start-up, metadata and pool growth: not measured.
        await WarmUpAsync(mode, workload, clients, TimeSpan.FromSeconds(Math.Clamp(duration.TotalSeconds / 4, 2, 5)));
        var holds = environment.LockHolds.GetValueOrDefault(mode.Name);
        holds?.Start(duration);
        var processCpuBefore = environment.Cpu();
        var cpuBefore = environment.CoordinatorCpu();
        using var spans = breakdown ? new SpanBreakdown() : null;
        var counts = new long[Enum.GetValues<OrderOutcome>().Length];
        var latencies = new List<double>[clients];
        string? firstError = null;
        var stopwatch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(duration);

        async Task Client(int id)
        {
            var random = new Random(id * 7919 + workload.Skus);
            var mine = latencies[id] = new List<double>(capacity: 8192);
            while (!stop.IsCancellationRequested)
            {
                var sku = Workload.SkuName(random.Next(workload.Skus));
                var rollBack = random.NextDouble() < workload.RollbackRate;
                var started = Stopwatch.GetTimestamp();
                OrderOutcome outcome;
                try
                {
                    outcome = await mode.PlaceAsync(sku, rollBack, CancellationToken.None);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    outcome = OrderOutcome.Failed;
                    Interlocked.CompareExchange(ref firstError, $"{ex.GetType().Name}: {ex.Message}", null);
                }
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref counts[(int)outcome]);
            }
        }

        var reporter = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(1000);
                var done = counts.Sum();
                progress($"{mode.Name,-5} {workload.Name,-15} {stopwatch.Elapsed.TotalSeconds,5:F0}s  {done,8:N0} transactions  {done / Math.Max(1, stopwatch.Elapsed.TotalSeconds),8:N0}/s");
            }
        });
        await Task.WhenAll(Enumerable.Range(0, clients).Select(id => Task.Run(() => Client(id))));
        var elapsed = stopwatch.Elapsed;
        await reporter;
        spans?.Dispose();
        foreach (var line in spans?.Lines(counts.Sum()) ?? [])
        {
            progress(line);
        }
        var cpu = environment.CoordinatorCpu() - cpuBefore;
        // Phase 2 and the undo rows' deletion are part of what an AT transaction costs: the CPU of
        // every process is read once they are done, before the consistency check's own queries.
        var settled = await environment.SettleAsync(TimeSpan.FromSeconds(30));
        var total = counts.Sum();
        var cpuPerTransaction = environment.Cpu().PerTransactionSince(processCpuBefore, total);
        var lockHold = holds is null ? null : await holds.StopAsync(progress);
        var invariants = await environment.CheckAsync(settled);

        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => Measurements.Percentile.Of(all, p);
        return new RunResult(
            Mode: mode.Name,
            Workload: workload.Name,
            Clients: clients,
            Seconds: elapsed.TotalSeconds,
            Transactions: total,
            Committed: counts[(int)OrderOutcome.Committed],
            RolledBack: counts[(int)OrderOutcome.RolledBack],
            Conflicts: counts[(int)OrderOutcome.Conflict],
            Failed: counts[(int)OrderOutcome.Failed],
            ThroughputPerSecond: total / elapsed.TotalSeconds,
            P50Ms: Percentile(0.50),
            P95Ms: Percentile(0.95),
            P99Ms: Percentile(0.99),
            CoordinatorCpuPercent: 100 * cpu.TotalSeconds / elapsed.TotalSeconds,
            InconsistentSkus: invariants.InconsistentSkus,
            UndoRowsLeft: invariants.UndoRowsLeft,
            LocksLeft: invariants.LocksLeft,
            FirstError: firstError,
            StockRowLockHold: lockHold,
            Cpu: cpuPerTransaction);
    }

    internal static async Task WarmUpAsync(IOrderMode mode, Workload workload, int clients, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource(duration);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(id => Task.Run(async () =>
        {
            var random = new Random(-id - 1);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await mode.PlaceAsync(Workload.SkuName(random.Next(workload.Skus)), random.NextDouble() < workload.RollbackRate, CancellationToken.None);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Counted in the measured run, not here.
                }
            }
        })));
    }
}

/// <summary>The measurements of one mode under one workload.</summary>
internal sealed record RunResult(
    string Mode, string Workload, int Clients, double Seconds, long Transactions, long Committed, long RolledBack,
    long Conflicts, long Failed, double ThroughputPerSecond, double P50Ms, double P95Ms, double P99Ms,
    double CoordinatorCpuPercent, int InconsistentSkus, long UndoRowsLeft, long LocksLeft, string? FirstError,
    LockHoldTimes? StockRowLockHold, CpuPerTransaction Cpu)
{
    public double AbortRate => Transactions == 0 ? 0 : (double)(Conflicts + Failed) / Transactions;
}
