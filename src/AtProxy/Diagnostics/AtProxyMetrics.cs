using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AtProxy.Diagnostics;

/// <summary>
/// The proxy's instruments, on the meter "AtProxy" (<see cref="AtProxyTelemetry.SourceName"/>; add it
/// to OpenTelemetry with <c>AddMeter("AtProxy")</c>). Created through the application's
/// <see cref="IMeterFactory"/> when the client comes from dependency injection, else on one shared
/// meter of the process. Durations in seconds, sizes in bytes. Recording allocates nothing but the
/// tag values it is given, and is skipped when nobody listens.
/// </summary>
internal sealed class AtProxyMetrics
{
    private static readonly Meter SharedMeter = new(AtProxyTelemetry.SourceName, typeof(AtProxyMetrics).Assembly.GetName().Version?.ToString());

    private readonly Counter<long> _branchesRegistered;
    private readonly Histogram<double> _registration;
    private readonly Histogram<double> _lockWait;
    private readonly Counter<long> _undoBytes;
    private readonly Counter<long> _rollbacks;
    private readonly Histogram<double> _rollbackDuration;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _coordinatorCalls;

    public AtProxyMetrics(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(AtProxyTelemetry.SourceName) ?? SharedMeter;
        _branchesRegistered = meter.CreateCounter<long>("atproxy.branches.registered", "{branch}", "Branches registered with the coordinator, by resource.");
        _registration = meter.CreateHistogram<double>("atproxy.branch.registration.duration", "s",
            "A branch's registration at local commit, lock conflicts waited out included, by resource.");
        _lockWait = meter.CreateHistogram<double>("atproxy.global_lock.wait.duration", "s",
            "Time spent waiting for global locks held by another transaction (registration, GlobalLock scopes, SELECT ... FOR UPDATE), by resource and outcome (acquired, gave_up).");
        _undoBytes = meter.CreateCounter<long>("atproxy.undo.written", "By", "Undo-log bytes written (as stored, after compression), by resource.");
        _rollbacks = meter.CreateCounter<long>("atproxy.phase_two.rollbacks", "{branch}", "Phase-2 rollbacks of a branch run here, by resource and outcome (rolled_back, retryable, unretryable).");
        _rollbackDuration = meter.CreateHistogram<double>("atproxy.phase_two.rollback.duration", "s", "One phase-2 rollback of a branch, by resource and outcome.");
        _coordinatorCalls = meter.CreateCounter<long>("atproxy.coordinator.calls", "{call}",
            "Calls answered by the coordinator, by transport: stream (batched over the call stream) or unary (a coordinator that does not serve the stream, or UseCallStream off).");
        _requests = meter.CreateCounter<long>("atproxy.transactions.requests", "{request}",
            "Commit and rollback requests to the coordinator, by request (commit, rollback) and outcome (the status answered, or unknown when none came).");
    }

    public void BranchRegistered(string resourceId, long startedTimestamp)
    {
        var resource = new KeyValuePair<string, object?>("resource", resourceId);
        _branchesRegistered.Add(1, resource);
        if (_registration.Enabled)
        {
            _registration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, resource);
        }
    }

    public void LockWaited(string resourceId, long startedTimestamp, bool acquired)
    {
        if (_lockWait.Enabled)
        {
            _lockWait.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>("resource", resourceId), new KeyValuePair<string, object?>("outcome", acquired ? "acquired" : "gave_up"));
        }
    }

    public void UndoWritten(string resourceId, int bytes) => _undoBytes.Add(bytes, new KeyValuePair<string, object?>("resource", resourceId));

    public void RolledBack(string resourceId, string outcome, long startedTimestamp)
    {
        var resource = new KeyValuePair<string, object?>("resource", resourceId);
        var result = new KeyValuePair<string, object?>("outcome", outcome);
        _rollbacks.Add(1, resource, result);
        if (_rollbackDuration.Enabled)
        {
            _rollbackDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, resource, result);
        }
    }

    /// <summary>The coordinator answered a call sent over <paramref name="transport"/> ("stream" or "unary").</summary>
    public void CoordinatorCalled(string transport) => _coordinatorCalls.Add(1, new KeyValuePair<string, object?>("transport", transport));

    /// <summary>A commit or rollback request ended with <paramref name="outcome"/> (a status name, or "unknown").</summary>
    public void Requested(string request, string outcome) =>
        _requests.Add(1, new KeyValuePair<string, object?>("request", request), new KeyValuePair<string, object?>("outcome", outcome));
}
