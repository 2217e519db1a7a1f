using System.Collections.Concurrent;

namespace AtProxy.Coordinator.Alerts;

/// <summary>
/// The alerts that still hold: one per transaction and kind, from when it is raised until the
/// transaction leaves the condition (ends, or a person resumes it). What a console lists; the
/// admin API's <c>ListAlerts</c> reads it. In memory: after a restart it is filled again from the
/// stopped transactions in the store (without notifying anyone a second time).
/// </summary>
internal sealed class ActiveAlerts
{
    private readonly ConcurrentDictionary<(string Xid, CoordinatorAlertKind Kind), CoordinatorAlert> _alerts = new();

    /// <summary>Adds the alert unless one of its kind holds for its transaction already; true when added.</summary>
    public bool TryAdd(CoordinatorAlert alert) => _alerts.TryAdd((alert.Xid, alert.Kind), alert);

    /// <summary>True when an alert of <paramref name="kind"/> holds for <paramref name="xid"/>.</summary>
    public bool Contains(string xid, CoordinatorAlertKind kind) => _alerts.ContainsKey((xid, kind));

    /// <summary>Every alert that holds, oldest first.</summary>
    public IReadOnlyList<CoordinatorAlert> List() => [.. _alerts.Values.OrderBy(a => a.RaisedAt).ThenBy(a => a.Xid, StringComparer.Ordinal)];

    /// <summary>The transactions with an alert that holds.</summary>
    public IReadOnlyCollection<string> Xids() => [.. _alerts.Keys.Select(k => k.Xid).Distinct(StringComparer.Ordinal)];

    /// <summary>Drops the alert of <paramref name="kind"/> for <paramref name="xid"/>.</summary>
    public void Resolve(string xid, CoordinatorAlertKind kind) => _alerts.TryRemove((xid, kind), out _);

    /// <summary>Drops every alert of <paramref name="xid"/> for which <paramref name="resolved"/> says so.</summary>
    public void ResolveWhere(string xid, Func<CoordinatorAlert, bool> resolved)
    {
        foreach (var (key, alert) in _alerts)
        {
            if (key.Xid == xid && resolved(alert))
            {
                // Only the alert judged: one raised again meanwhile stays.
                _alerts.TryRemove(new KeyValuePair<(string, CoordinatorAlertKind), CoordinatorAlert>(key, alert));
            }
        }
    }
}
