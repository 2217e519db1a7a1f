using System.Collections.Concurrent;
using AtProxy.Coordinator.Alerts;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>An embedding host's alert observer: keeps every alert it is told about.</summary>
public sealed class RecordingAlertObserver : ICoordinatorAlertObserver
{
    private readonly ConcurrentQueue<CoordinatorAlert> _alerts = new();

    public IReadOnlyList<CoordinatorAlert> Alerts => [.. _alerts];

    public IReadOnlyList<CoordinatorAlert> Of(string xid, CoordinatorAlertKind kind) => [.. _alerts.Where(a => a.Xid == xid && a.Kind == kind)];

    public Task OnAlertAsync(CoordinatorAlert alert, CancellationToken cancellationToken)
    {
        _alerts.Enqueue(alert);
        return Task.CompletedTask;
    }
}
