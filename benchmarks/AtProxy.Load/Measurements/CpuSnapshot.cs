namespace AtProxy.Load.Measurements;

/// <summary>The CPU time every process of a run had used at one moment; two of them bracket a measured run.</summary>
internal sealed record CpuSnapshot(TimeSpan Driver, TimeSpan Coordinator, TimeSpan? Postgres)
{
    /// <summary>The CPU each process spent between <paramref name="before"/> and this snapshot, per transaction, in microseconds.</summary>
    public CpuPerTransaction PerTransactionSince(CpuSnapshot before, long transactions)
    {
        if (transactions == 0)
        {
            return new CpuPerTransaction(0, 0, null);
        }
        double PerTx(TimeSpan spent) => spent.TotalMicroseconds / transactions;
        return new CpuPerTransaction(PerTx(Driver - before.Driver), PerTx(Coordinator - before.Coordinator),
            Postgres is { } after && before.Postgres is { } start ? PerTx(after - start) : null);
    }
}

/// <summary>CPU microseconds per transaction of the load driver (the application), the coordinator and PostgreSQL.</summary>
internal sealed record CpuPerTransaction(double DriverUs, double CoordinatorUs, double? PostgresUs)
{
    /// <summary>All three together (without PostgreSQL when it could not be read).</summary>
    public double TotalUs => DriverUs + CoordinatorUs + (PostgresUs ?? 0);
}
