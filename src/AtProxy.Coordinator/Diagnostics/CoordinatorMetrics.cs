using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AtProxy.Coordinator.Diagnostics;

/// <summary>The coordinator's counters and histograms, on the meter "AtProxy.Coordinator".</summary>
internal sealed class CoordinatorMetrics
{
    /// <summary>The meter's name, for exporters and listeners.</summary>
    public const string MeterName = "AtProxy.Coordinator";

    private readonly Counter<long> _begun;
    private readonly Counter<long> _committed;
    private readonly Counter<long> _rolledBack;
    private readonly Counter<long> _lockConflicts;
    private readonly Counter<long> _phaseTwoRetries;
    private readonly Counter<long> _alerts;
    private readonly Histogram<double> _commitLatency;
    private readonly Histogram<double> _lockHold;

    public CoordinatorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _begun = meter.CreateCounter<long>("atproxy.coordinator.transactions.begun", "{transaction}", "Global transactions begun.");
        _committed = meter.CreateCounter<long>("atproxy.coordinator.transactions.committed", "{transaction}", "Global transactions whose commit was decided.");
        _rolledBack = meter.CreateCounter<long>("atproxy.coordinator.transactions.rolled_back", "{transaction}", "Global transactions whose rollback was decided, by reason (application, timeout, operator).");
        _lockConflicts = meter.CreateCounter<long>("atproxy.coordinator.lock_conflicts", "{conflict}", "Branch registrations refused because another transaction held a key.");
        _phaseTwoRetries = meter.CreateCounter<long>("atproxy.coordinator.phase_two.retries", "{attempt}", "Phase-2 attempts that failed and were scheduled again.");
        _alerts = meter.CreateCounter<long>("atproxy.coordinator.alerts", "{alert}",
            "Alerts raised, by kind (retry_timeout, rollback_failed, commit_failed, unfinished, branch_failures).");
        _commitLatency = meter.CreateHistogram<double>("atproxy.coordinator.commit.duration", "ms", "Time to decide a commit and make the decision durable.");
        _lockHold = meter.CreateHistogram<double>("atproxy.coordinator.lock.hold.duration", "ms",
            "How long a branch held its global locks: from its registration acquiring them to the decision (or a failed phase 1) letting go of them, by resource.");
    }

    public void Begun() => _begun.Add(1);

    public void Committed(double decisionMilliseconds)
    {
        _committed.Add(1);
        _commitLatency.Record(decisionMilliseconds);
    }

    public void RolledBack(string reason) => _rolledBack.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void LockConflict() => _lockConflicts.Add(1);

    public void PhaseTwoRetry() => _phaseTwoRetries.Add(1);

    public void AlertRaised(string kind) => _alerts.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>A branch's locks were let go of; one measurement per branch, not per key.</summary>
    public void LocksReleased(string resourceId, long acquiredTimestamp) =>
        _lockHold.Record(Stopwatch.GetElapsedTime(acquiredTimestamp).TotalMilliseconds, new KeyValuePair<string, object?>("resource", resourceId));
}
