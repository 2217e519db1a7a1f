using System.Collections.Concurrent;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Sessions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Alerts;

/// <summary>
/// Where the coordinator raises alerts. Raising one is cheap and never waits: the alert is logged
/// (Error for a stopped transaction, Warning otherwise, with the XID), counted on the coordinator's
/// meter by kind, added to <see cref="ActiveAlerts"/> and handed to <see cref="AlertDispatcher"/>,
/// which tells the observers and the webhook in the background. A transaction gets one alert per
/// kind while the condition holds; it can be raised again only after it was resolved.
/// </summary>
internal sealed class CoordinatorAlerts(
    ActiveAlerts active,
    AlertDispatcher dispatcher,
    CoordinatorMetrics metrics,
    TimeProvider time,
    IOptions<CoordinatorOptions> options,
    ILogger<CoordinatorAlerts> logger)
{
    private readonly ConcurrentDictionary<(string Xid, long BranchId), int> _branchFailures = new();

    /// <summary>Raises an alert about <paramref name="session"/> unless one of its kind holds already; true when raised.</summary>
    public bool Raise(CoordinatorAlertKind kind, GlobalSession session, string message)
    {
        var alert = Describe(kind, session, message);
        if (!active.TryAdd(alert))
        {
            return false;
        }
        var name = CoordinatorAlertKindNames.NameOf(kind);
        if (AlertConditions.OfStopped(alert.Status) == kind)
        {
            Log.AlertRaisedForStopped(logger, name, alert.Xid, StatusNames.Of(alert.Status), message);
        }
        else
        {
            Log.AlertRaised(logger, name, alert.Xid, StatusNames.Of(alert.Status), message);
        }
        metrics.AlertRaised(name);
        dispatcher.Enqueue(alert);
        return true;
    }

    /// <summary>
    /// Lists an alert that holds but was raised before this coordinator started (or by another one
    /// sharing the store) as active, without logging, counting or notifying it again.
    /// </summary>
    public void Recall(CoordinatorAlertKind kind, GlobalSession session, string message) => active.TryAdd(Describe(kind, session, message));

    /// <summary>
    /// Counts a retryable phase-2 failure of <paramref name="branch"/>; past
    /// <see cref="CoordinatorOptions.BranchFailureAlertThreshold"/> failures a "branch_failures" alert is raised.
    /// </summary>
    public void BranchFailed(GlobalSession session, BranchSession branch, string error)
    {
        var threshold = options.Value.BranchFailureAlertThreshold;
        if (threshold <= 0)
        {
            return;
        }
        var failures = _branchFailures.AddOrUpdate((session.Xid, branch.BranchId), 1, static (_, count) => count + 1);
        if (failures > threshold)
        {
            Raise(CoordinatorAlertKind.BranchFailures, session,
                $"branch {branch.BranchId} on {branch.ResourceId} failed phase 2 {failures} times (threshold {threshold}): {error}");
        }
    }

    /// <summary>A person resumed the transaction: its stopped alerts are resolved and its branches' failures counted afresh.</summary>
    public void Resumed(string xid)
    {
        active.ResolveWhere(xid, alert => alert.Kind is CoordinatorAlertKind.RetryTimeout or CoordinatorAlertKind.RollbackFailed or
            CoordinatorAlertKind.CommitFailed or CoordinatorAlertKind.BranchFailures);
        ForgetFailures(xid);
    }

    /// <summary>The transactions whose branch failures are being counted.</summary>
    public IReadOnlyCollection<string> CountedXids() => [.. _branchFailures.Keys.Select(k => k.Xid).Distinct(StringComparer.Ordinal)];

    /// <summary>Stops counting the branch failures of a transaction (it ended, or was resumed).</summary>
    public void ForgetFailures(string xid)
    {
        foreach (var key in _branchFailures.Keys)
        {
            if (key.Xid == xid)
            {
                _branchFailures.TryRemove(key, out _);
            }
        }
    }

    private CoordinatorAlert Describe(CoordinatorAlertKind kind, GlobalSession session, string message)
    {
        var now = time.GetUtcNow();
        lock (session)
        {
            var errors = session.BranchesUnsafe
                .Where(b => b.LastError.Length > 0)
                .Select(b => new CoordinatorAlertBranchError(b.BranchId, b.ResourceId, b.Status, b.LastError))
                .ToArray();
            var began = DateTimeOffset.FromUnixTimeMilliseconds(session.BeginTimeUnixMs);
            return new CoordinatorAlert(kind, session.Xid, session.Name, session.ApplicationId, session.Status, began,
                now - began, now, message, errors);
        }
    }
}
