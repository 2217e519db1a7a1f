namespace AtProxy.Load.CoordinatorStores;

/// <summary>One configuration's figures: whole global transactions per second, phase 2 included.</summary>
internal sealed record StoreRunResult(string Store, int Instances, int Clients, long Transactions, double Seconds, double P99Ms)
{
    public double ThroughputPerSecond => Transactions / Seconds;
}
