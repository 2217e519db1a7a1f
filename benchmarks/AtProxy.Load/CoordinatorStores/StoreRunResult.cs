namespace AtProxy.Load.CoordinatorStores;

/// <summary>
/// One configuration's figures: whole global transactions per second, phase 2 included, and the
/// CPU time the coordinator processes and the clients spent on them.
/// </summary>
internal sealed record StoreRunResult(
    string Store, int Instances, int Clients, long Transactions, double Seconds, double P99Ms, TimeSpan CoordinatorCpu, TimeSpan ClientCpu)
{
    public double ThroughputPerSecond => Transactions / Seconds;

    /// <summary>Requests PostgreSQL received during the run (the shared store only; null otherwise or when not countable).</summary>
    public long? PostgresRequests { get; init; }

    /// <summary>The PostgreSQL cluster's CPU time during the run (the shared store only).</summary>
    public TimeSpan? PostgresCpu { get; init; }

    public double? PostgresRequestsPerTransaction => PostgresRequests is { } requests ? (double)requests / Math.Max(1, Transactions) : null;

    public double? PostgresCpuPerTransactionUs => PostgresCpu is { } cpu ? cpu.TotalMicroseconds / Math.Max(1, Transactions) : null;

    public double CoordinatorCpuPerTransactionUs => CoordinatorCpu.TotalMicroseconds / Math.Max(1, Transactions);

    public double ClientCpuPerTransactionUs => ClientCpu.TotalMicroseconds / Math.Max(1, Transactions);

    /// <summary>What one core given to the coordinator would sustain at this CPU cost.</summary>
    public double TransactionsPerCoordinatorCoreSecond => CoordinatorCpuPerTransactionUs <= 0 ? 0 : 1_000_000 / CoordinatorCpuPerTransactionUs;
}
