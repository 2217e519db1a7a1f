using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace AtProxy.Load;

/// <summary>Writes a run's results as a markdown table and a JSON file, with the ratios the targets are stated in.</summary>
internal static class LoadReport
{
    public static (string Markdown, string Json) Write(LoadSettings settings, IReadOnlyList<RunResult> results, DateTimeOffset startedAt, string databaseDurability)
    {
        Directory.CreateDirectory(settings.OutputDirectory);
        var stamp = startedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var kind = settings.Quick ? "quick" : "full";
        var markdownPath = Path.Combine(settings.OutputDirectory, $"load-{kind}-{stamp}.md");
        var jsonPath = Path.Combine(settings.OutputDirectory, $"load-{kind}-{stamp}.json");
        var ratios = Ratios(results);

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Load: AtProxy (at) vs PostgreSQL two-phase commit (xa) vs local transactions");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{startedAt:u}; {Machine()}; {settings.Clients} clients; {settings.Duration.TotalSeconds:F0} s per mode and workload; one PostgreSQL ({databaseDurability}; Npgsql Max Auto Prepare 32 in every mode), one coordinator process (embedded durable store), all on loopback.");
        md.AppendLine();
        md.AppendLine("| workload | mode | tx/s | p50 ms | p95 ms | p99 ms | committed | rolled back | conflicts | failed | abort rate | coordinator CPU | inconsistent SKUs | undo rows left | locks left |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Workload} | {r.Mode} | {r.ThroughputPerSecond:F0} | {r.P50Ms:F1} | {r.P95Ms:F1} | {r.P99Ms:F1} | {r.Committed} | {r.RolledBack} | {r.Conflicts} | {r.Failed} | {r.AbortRate:P1} | {(r.Mode == "at" ? r.CoordinatorCpuPercent.ToString("F0", CultureInfo.InvariantCulture) + "%" : "-")} | {r.InconsistentSkus} | {r.UndoRowsLeft} | {r.LocksLeft} |");
        }
        md.AppendLine();
        md.AppendLine("How long the stock row's lock is held (the hot rows under the hot workloads), and the CPU each process spent per transaction (every order that finished, whatever its outcome; phase 2 and undo cleanup included):");
        md.AppendLine();
        md.AppendLine("| workload | mode | lock hold p50 ms | lock hold p99 ms | holds | driver CPU µs/tx | coordinator CPU µs/tx | PostgreSQL CPU µs/tx | total CPU µs/tx |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var hold = r.StockRowLockHold;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Workload} | {r.Mode} | {Format(hold?.P50Ms)} | {Format(hold?.P99Ms)} | {(hold is null ? "-" : hold.Count < 0 ? "?" : hold.Count.ToString(CultureInfo.InvariantCulture))} | {r.Cpu.DriverUs:F0} | {r.Cpu.CoordinatorUs:F0} | {(r.Cpu.PostgresUs is { } pg ? pg.ToString("F0", CultureInfo.InvariantCulture) : "-")} | {r.Cpu.TotalUs:F0} |");
        }
        md.AppendLine();
        md.AppendLine("| workload | at / local throughput | at / xa throughput | at p99 / xa p99 | at / xa lock hold p50 | at / xa lock hold p99 | at / xa CPU per tx |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var ratio in ratios)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {ratio.Workload} | {Format(ratio.AtOverLocal)} | {Format(ratio.AtOverXa)} | {Format(ratio.AtP99OverXaP99)} | {Format(ratio.AtOverXaLockHoldP50)} | {Format(ratio.AtOverXaLockHoldP99)} | {Format(ratio.AtOverXaCpuPerTransaction)} |");
        }
        md.AppendLine();
        md.AppendLine("Lock hold: at is the coordinator's histogram atproxy.coordinator.lock.hold.duration for the inventory branch (its global lock on the stock row, from the registration acquiring it to the decision letting go of it; the database's own row lock from the UPDATE to the branch's local commit comes before and is not in it), read from the coordinator process over EventPipe; xa is timed by the driver from the stock UPDATE returning to COMMIT PREPARED (or ROLLBACK) of that branch returning. CPU: user + system time of the driver process, the coordinator process and every process of the PostgreSQL cluster (/proc), from the start of the measured run until phase 2 has finished.");
        File.WriteAllText(markdownPath, md.ToString());

        var json = JsonSerializer.Serialize(new
        {
            startedAt,
            machine = Machine(),
            database = databaseDurability,
            settings = new { settings.Clients, durationSeconds = settings.Duration.TotalSeconds, settings.Modes, workloads = settings.Workloads.Select(w => w.Name), settings.Quick },
            results,
            ratios,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
        File.WriteAllText(jsonPath, json);
        return (markdownPath, jsonPath);
    }

    private static List<Ratio> Ratios(IReadOnlyList<RunResult> results) =>
        results.GroupBy(r => r.Workload).Select(group =>
        {
            var at = group.FirstOrDefault(r => r.Mode == "at");
            var local = group.FirstOrDefault(r => r.Mode == "local");
            var xa = group.FirstOrDefault(r => r.Mode == "xa");
            return new Ratio(group.Key,
                at is null || local is null ? null : at.ThroughputPerSecond / local.ThroughputPerSecond,
                at is null || xa is null ? null : at.ThroughputPerSecond / xa.ThroughputPerSecond,
                at is null || xa is null || xa.P99Ms == 0 ? null : at.P99Ms / xa.P99Ms,
                Over(at?.StockRowLockHold?.P50Ms, xa?.StockRowLockHold?.P50Ms),
                Over(at?.StockRowLockHold?.P99Ms, xa?.StockRowLockHold?.P99Ms),
                Over(at?.Cpu.TotalUs, xa?.Cpu.TotalUs));
        }).ToList();

    private static double? Over(double? numerator, double? denominator) =>
        numerator is { } n && denominator is { } d && d != 0 ? n / d : null;

    private static string Format(double? value) => value is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "-";

    private static string Machine() =>
        $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}";

    internal sealed record Ratio(string Workload, double? AtOverLocal, double? AtOverXa, double? AtP99OverXaP99,
        double? AtOverXaLockHoldP50, double? AtOverXaLockHoldP99, double? AtOverXaCpuPerTransaction);
}
