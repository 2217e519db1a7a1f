namespace AtProxy.Demo.Chaos;

/// <summary>What <c>chaos</c> was asked for.</summary>
/// <param name="Runs">How many runs.</param>
/// <param name="Seed">The first run's seed; run i uses <c>Seed + i</c>.</param>
/// <param name="Orders">Orders placed per run.</param>
/// <param name="Concurrency">Orders in flight at once.</param>
/// <param name="Points">The faults the runs choose from.</param>
/// <param name="ReportPath">Also write the runs as JSON to this file.</param>
internal sealed record ChaosOptions(int Runs, int Seed, int Orders, int Concurrency, IReadOnlyList<FaultPoint> Points, string? ReportPath);
