namespace AtProxy.Load.Measurements;

/// <summary>The nearest-rank percentile of sorted samples, one rule for every latency the report shows.</summary>
internal static class Percentile
{
    public static double Of(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
