namespace AtProxy.Load;

/// <summary>What one run of the load driver measures.</summary>
internal sealed record LoadSettings(
    int Clients,
    TimeSpan Duration,
    IReadOnlyList<string> Modes,
    IReadOnlyList<Workload> Workloads,
    string OutputDirectory,
    bool Quick);

/// <summary>The shape of the traffic: which SKUs orders take and how many transactions roll back.</summary>
internal sealed record Workload(string Name, int Skus, double RollbackRate, string Description)
{
    public static readonly Workload Uniform = new("uniform", 10_000, 0, "10,000 SKUs, every order commits");
    public static readonly Workload Hot = new("hot", 10, 0, "10 hot SKUs, every order commits");
    public static readonly Workload RollbackHeavy = new("rollback-heavy", 10_000, 0.2, "10,000 SKUs, 20% of orders roll back after both writes");

    public static readonly Workload HotWithRollbacks = new("hot-with-rollbacks", 10, 0.2, "10 hot SKUs, 20% of orders roll back after both writes (a flash sale whose payments fail)");

    public static IReadOnlyList<Workload> All { get; } = [Uniform, Hot, RollbackHeavy, HotWithRollbacks];

    public static string SkuName(int index) => "sku-" + index.ToString("D5", System.Globalization.CultureInfo.InvariantCulture);
}
