using System.Diagnostics.Metrics;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;

namespace AtProxy.Coordinator.Diagnostics;

/// <summary>
/// What the store holds now, as observable gauges on the coordinator's meter: transactions not
/// ended by status, and global locks held. Read from the same count the admin call
/// GetCoordinatorStatus answers with, so a scrape and the admin API agree; one count serves
/// both gauges of a scrape (it is a query on the postgres store).
/// </summary>
internal sealed class CoordinatorGauges
{
    private static readonly TimeSpan Reuse = TimeSpan.FromMilliseconds(500);

    private readonly ICoordinatorStore _store;
    private readonly Lock _gate = new();
    private StoreCounts? _counts;
    private long _countedAt;

    public CoordinatorGauges(IMeterFactory meterFactory, ICoordinatorStore store)
    {
        _store = store;
        var meter = meterFactory.Create(CoordinatorMetrics.MeterName);
        meter.CreateObservableGauge("atproxy.coordinator.transactions.active", ObserveActive, "{transaction}",
            "Global transactions not ended, by status (BEGIN, in phase 2, or stopped for a person).");
        meter.CreateObservableGauge("atproxy.coordinator.locks.held", () => Counts().LocksHeld, "{lock}", "Global row locks held.");
    }

    private IEnumerable<Measurement<long>> ObserveActive()
    {
        foreach (var (status, count) in Counts().TransactionsByStatus)
        {
            if (!GlobalStatusRules.IsEnded(status))
            {
                yield return new Measurement<long>(count, new KeyValuePair<string, object?>("status", StatusNames.Of(status)));
            }
        }
    }

    // Observable callbacks are synchronous: the count is awaited here, on the exporter's thread.
    private StoreCounts Counts()
    {
        lock (_gate)
        {
            if (_counts is null || Environment.TickCount64 - _countedAt > Reuse.TotalMilliseconds)
            {
                _counts = _store.CountAsync().GetAwaiter().GetResult();
                _countedAt = Environment.TickCount64;
            }
            return _counts;
        }
    }
}
