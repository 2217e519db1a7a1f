using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
using AtProxy.Protocol.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Alerts;

/// <summary>
/// The alerts' clock. Once at start it recalls the transactions stopped for a person (so the
/// active alerts survive a restart without being sent again); then, every
/// <see cref="Interval"/>, it raises "unfinished" for transactions older than
/// <see cref="CoordinatorOptions.UnfinishedAlertAfterMs"/> and resolves the alerts whose
/// transaction left the condition (ended, resumed, purged). On a shared store every coordinator
/// sees the same unfinished transactions: each lists them, and only the one that
/// <see cref="IAlertLeadership">leads</see> notifies them (the others recall them, and notify
/// those they only recalled when they take the lead).
/// </summary>
internal sealed class AlertMonitor(
    ICoordinatorStore store,
    IAlertLeadership leadership,
    CoordinatorAlerts alerts,
    ActiveAlerts active,
    TimeProvider time,
    IOptions<CoordinatorOptions> options,
    ILogger<AlertMonitor> logger) : BackgroundService
{
    // Enough for any backlog a person can work through; more are looked at in the next passes.
    private const int PageSize = 500;
    private const int MaxPages = 20;

    private static readonly HashSet<GlobalStatus> Unended =
        [.. Enum.GetValues<GlobalStatus>().Where(s => s != GlobalStatus.Unspecified && !GlobalStatusRules.IsEnded(s))];

    private static readonly HashSet<GlobalStatus> Stopped = [.. Enum.GetValues<GlobalStatus>().Where(GlobalStatusRules.IsStopped)];

    private readonly CoordinatorOptions _options = options.Value;

    // Unfinished transactions listed here while another coordinator led: nobody may have notified them.
    private readonly HashSet<string> _recalledUnfinished = new(StringComparer.Ordinal);

    /// <summary>A quarter of the unfinished age (so an alert comes at most a quarter late), between 100 ms and 10 s.</summary>
    public TimeSpan Interval => TimeSpan.FromMilliseconds(_options.UnfinishedAlertAfterMs > 0
        ? Math.Clamp(_options.UnfinishedAlertAfterMs / 4, 100, 10_000)
        : 10_000);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recalled = false;
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                if (!recalled)
                {
                    await RecallStoppedAsync();
                    recalled = true;
                }
                await CheckAsync();
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.AlertCheckFailed(logger, ex);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    /// <summary>One pass: unfinished transactions, then alerts that no longer hold.</summary>
    internal async Task CheckAsync()
    {
        if (_options.UnfinishedAlertAfterMs > 0)
        {
            var leads = await leadership.LeadsAsync(CancellationToken.None);
            var begunBefore = time.GetUtcNow().ToUnixTimeMilliseconds() - _options.UnfinishedAlertAfterMs;
            await ForEachAsync(Unended, begunBefore, session => CheckUnfinished(session, leads));
        }
        await ResolveAsync();
        _recalledUnfinished.RemoveWhere(xid => !active.Contains(xid, CoordinatorAlertKind.Unfinished));
    }

    private void CheckUnfinished(GlobalSession session, bool leads)
    {
        var listed = active.Contains(session.Xid, CoordinatorAlertKind.Unfinished);
        if (listed && !(leads && _recalledUnfinished.Contains(session.Xid)))
        {
            return;
        }
        var message = $"not ended {Math.Max(0, (time.GetUtcNow().ToUnixTimeMilliseconds() - session.BeginTimeUnixMs) / 1000)} s after its begin (alert after {_options.UnfinishedAlertAfterMs / 1000.0:0.###} s); it is {StatusNames.Of(session.Status)}";
        if (!leads)
        {
            alerts.Recall(CoordinatorAlertKind.Unfinished, session, message);
            _recalledUnfinished.Add(session.Xid);
            return;
        }
        if (listed)
        {
            // Recalled while another coordinator led, which may have died before notifying it: notify it
            // now (at worst a second time, across a change of leader).
            active.Resolve(session.Xid, CoordinatorAlertKind.Unfinished);
            _recalledUnfinished.Remove(session.Xid);
        }
        alerts.Raise(CoordinatorAlertKind.Unfinished, session, message);
    }

    private async Task RecallStoppedAsync() =>
        await ForEachAsync(Stopped, long.MaxValue, session =>
        {
            if (AlertConditions.OfStopped(session.Status) is { } kind)
            {
                alerts.Recall(kind, session, $"{StatusNames.Of(session.Status)} since before this coordinator started; a person must decide");
            }
        });

    private async Task ResolveAsync()
    {
        var xids = active.Xids().Concat(alerts.CountedXids()).Distinct(StringComparer.Ordinal).ToArray();
        if (xids.Length == 0)
        {
            return;
        }
        // An alert raised after the statuses were read is judged by the next pass, not by a status older than it.
        var readAt = time.GetUtcNow();
        var statuses = await store.FindStatusesAsync(xids);
        foreach (var xid in xids)
        {
            if (statuses.TryGetValue(xid, out var status))
            {
                active.ResolveWhere(xid, alert => alert.RaisedAt < readAt && !AlertConditions.Holds(alert.Kind, status));
                if (GlobalStatusRules.IsEnded(status))
                {
                    alerts.ForgetFailures(xid);
                }
            }
            else
            {
                active.ResolveWhere(xid, alert => alert.RaisedAt < readAt); // purged: it ended long ago
                alerts.ForgetFailures(xid);
            }
        }
    }

    private async Task ForEachAsync(HashSet<GlobalStatus> statuses, long begunBeforeUnixMs, Action<GlobalSession> act)
    {
        long after = 0;
        for (var page = 0; page < MaxPages; page++)
        {
            var sessions = await store.ListAsync(new TransactionQuery(after, statuses, "", "", begunBeforeUnixMs, PageSize));
            foreach (var session in sessions)
            {
                act(session);
            }
            if (sessions.Count < PageSize)
            {
                return;
            }
            after = sessions[^1].Sequence;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
