using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AtProxy.Coordinator.Alerts;

/// <summary>
/// Tells the observers and the webhook about each alert, in the background and in the order the
/// alerts were raised, so raising one never waits for either. Webhook deliveries run side by side
/// (a slow endpoint does not hold the observers up).
/// </summary>
internal sealed class AlertDispatcher(
    IEnumerable<ICoordinatorAlertObserver> observers,
    AlertWebhook webhook,
    ILogger<AlertDispatcher> logger) : BackgroundService
{
    // Far more than a burst of stopped transactions; past it an alert is dropped (and logged) rather
    // than let a dead webhook grow the coordinator's memory.
    private const int Capacity = 10_000;

    private readonly ICoordinatorAlertObserver[] _observers = [.. observers];
    private readonly Channel<CoordinatorAlert> _queue = Channel.CreateBounded<CoordinatorAlert>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Queues an alert; never waits.</summary>
    public void Enqueue(CoordinatorAlert alert)
    {
        if (!_queue.Writer.TryWrite(alert))
        {
            Log.AlertDropped(logger, CoordinatorAlertKindNames.NameOf(alert.Kind), alert.Xid, Capacity);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var alert in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                foreach (var observer in _observers)
                {
                    try
                    {
                        await observer.OnAlertAsync(alert, stoppingToken);
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        Log.AlertObserverFailed(logger, ex, observer.GetType().Name, alert.Xid);
                    }
                }
                if (webhook.IsConfigured)
                {
                    _ = webhook.DeliverAsync(alert, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
