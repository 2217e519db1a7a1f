using System.Diagnostics;
using System.Diagnostics.Metrics;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Diagnostics;

/// <summary>
/// The coordinator's counters and histograms, on the meter "AtProxy.Coordinator", named and
/// measured as OpenTelemetry's semantic conventions do: durations in seconds (<c>s</c>), counts in
/// curly-brace units. Recording costs no allocation beyond the tags, and nothing when nobody listens.
/// The gauges of what is held now are <see cref="CoordinatorGauges"/>.
/// </summary>
internal sealed class CoordinatorMetrics
{
    /// <summary>The meter's name, for exporters and listeners.</summary>
    public const string MeterName = "AtProxy.Coordinator";

    private readonly Counter<long> _begun;
    private readonly Counter<long> _committed;
    private readonly Counter<long> _rolledBack;
    private readonly Counter<long> _ended;
    private readonly Counter<long> _lockConflicts;
    private readonly Histogram<double> _lockWait;
    private readonly Counter<long> _phaseTwoAttempts;
    private readonly Counter<long> _phaseTwoRetries;
    private readonly Histogram<double> _branchCommand;
    private readonly Counter<long> _alerts;
    private readonly Histogram<double> _commitLatency;
    private readonly Histogram<double> _lockHold;
    private readonly Histogram<double> _storeWrite;

    public CoordinatorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _begun = meter.CreateCounter<long>("atproxy.coordinator.transactions.begun", "{transaction}", "Global transactions begun.");
        _committed = meter.CreateCounter<long>("atproxy.coordinator.transactions.committed", "{transaction}", "Global transactions whose commit was decided.");
        _rolledBack = meter.CreateCounter<long>("atproxy.coordinator.transactions.rolled_back", "{transaction}",
            "Global transactions whose rollback was decided, by reason (application, timeout).");
        _ended = meter.CreateCounter<long>("atproxy.coordinator.transactions.ended", "{transaction}",
            "Global transactions that reached a final status, by status and name (counted by the coordinator that recorded the end).");
        _lockConflicts = meter.CreateCounter<long>("atproxy.coordinator.lock_conflicts", "{conflict}", "Branch registrations refused because another transaction held a key.");
        _lockWait = meter.CreateHistogram<double>("atproxy.coordinator.lock.wait.duration", "s",
            "How long a lock check that asked to wait (GlobalLock scopes, SELECT ... FOR UPDATE) waited, by outcome (acquirable, held).");
        _phaseTwoAttempts = meter.CreateCounter<long>("atproxy.coordinator.phase_two.attempts", "{attempt}", "Phase-2 attempts started (a decision's first one included).");
        _phaseTwoRetries = meter.CreateCounter<long>("atproxy.coordinator.phase_two.retries", "{attempt}", "Phase-2 attempts that failed and were scheduled again.");
        _branchCommand = meter.CreateHistogram<double>("atproxy.coordinator.phase_two.command.duration", "s",
            "One phase-2 command to a resource manager, from sending to its answer, by action (commit, rollback) and outcome (succeeded, retryable, unretryable).");
        _alerts = meter.CreateCounter<long>("atproxy.coordinator.alerts", "{alert}",
            "Alerts raised, by kind (retry_timeout, rollback_failed, commit_failed, unfinished, branch_failures).");
        _commitLatency = meter.CreateHistogram<double>("atproxy.coordinator.commit.duration", "s", "Time to decide a commit and make the decision durable.");
        _lockHold = meter.CreateHistogram<double>("atproxy.coordinator.lock.hold.duration", "s",
            "How long a branch held its global locks: from its registration acquiring them to the decision (or a failed phase 1) letting go of them, by resource.");
        _storeWrite = meter.CreateHistogram<double>("atproxy.coordinator.store.write.duration", "s",
            "One group-committed write of the store: the embedded log's write and flush, the postgres store's batch up to its COMMIT, by store.");
    }

    public void Begun() => _begun.Add(1);

    public void Committed(TimeSpan decision)
    {
        _committed.Add(1);
        _commitLatency.Record(decision.TotalSeconds);
    }

    public void RolledBack(string reason) => _rolledBack.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A transaction reached <paramref name="status"/>, one of the final ones.</summary>
    public void Ended(GlobalStatus status, string name)
    {
        if (_ended.Enabled)
        {
            _ended.Add(1, new KeyValuePair<string, object?>("status", StatusNames.Of(status)), new KeyValuePair<string, object?>("name", name));
        }
    }

    public void LockConflict() => _lockConflicts.Add(1);

    public void LockWaited(TimeSpan waited, bool acquirable) =>
        _lockWait.Record(waited.TotalSeconds, new KeyValuePair<string, object?>("outcome", acquirable ? "acquirable" : "held"));

    public void PhaseTwoAttempt() => _phaseTwoAttempts.Add(1);

    public void PhaseTwoRetry() => _phaseTwoRetries.Add(1);

    public void BranchCommand(BranchAction action, BranchCommandVerdict verdict, long startedTimestamp)
    {
        if (_branchCommand.Enabled)
        {
            _branchCommand.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>("action", action == BranchAction.Commit ? "commit" : "rollback"),
                new KeyValuePair<string, object?>("outcome", verdict switch
                {
                    BranchCommandVerdict.Succeeded => "succeeded",
                    BranchCommandVerdict.Retryable => "retryable",
                    _ => "unretryable",
                }));
        }
    }

    public void AlertRaised(string kind) => _alerts.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>A branch's locks were let go of; one measurement per branch, not per key.</summary>
    public void LocksReleased(string resourceId, long acquiredTimestamp)
    {
        if (_lockHold.Enabled)
        {
            _lockHold.Record(Stopwatch.GetElapsedTime(acquiredTimestamp).TotalSeconds, new KeyValuePair<string, object?>("resource", resourceId));
        }
    }

    /// <summary>One group-committed write of the store ended (<paramref name="store"/>: "embedded" or "postgres").</summary>
    public void StoreWritten(string store, long startedTimestamp)
    {
        if (_storeWrite.Enabled)
        {
            _storeWrite.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, new KeyValuePair<string, object?>("store", store));
        }
    }
}
