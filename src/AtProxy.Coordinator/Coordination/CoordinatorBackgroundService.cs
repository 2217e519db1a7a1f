using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// The coordinator's clock: rolls back transactions past their timeout, starts phase-2
/// attempts that are due (retries, and everything recovered after a restart), and purges
/// ended transactions after their retention. Woken early when a resource manager
/// subscribes, so a transaction waiting for it carries on at once.
/// </summary>
internal sealed class CoordinatorBackgroundService : BackgroundService
{
    private readonly ICoordinatorStore _store;
    private long _interventionsExpiredUnixMs;
    private readonly TransactionCoordinator _coordinator;
    private readonly PhaseTwoDriver _driver;
    private readonly SessionChanges _changes;
    private readonly CoordinatorOptions _options;
    private readonly ILogger<CoordinatorBackgroundService> _logger;
    private readonly SemaphoreSlim _wake = new(0, 1);

    public CoordinatorBackgroundService(
        ICoordinatorStore store,
        TransactionCoordinator coordinator,
        PhaseTwoDriver driver,
        SessionChanges changes,
        ResourceManagerHub hub,
        CoordinatorGauges gauges,
        IOptions<CoordinatorOptions> options,
        ILogger<CoordinatorBackgroundService> logger)
    {
        // Taken here so the gauges exist from the start (nothing else asks for them).
        _ = gauges;
        _store = store;
        _coordinator = coordinator;
        _driver = driver;
        _changes = changes;
        _options = options.Value;
        _logger = logger;
        hub.ResourceConnected += OnResourceConnected;
        if (store is PostgresCoordinatorStore shared)
        {
            shared.PhaseTwoDue += Wake; // another coordinator handed an attempt over
        }
    }

    /// <summary>Runs a sweep soon instead of at the next interval.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is pending already.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(_options.SweepIntervalMs);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync();
            }
            catch (Exception ex)
            {
                Log.SweepFailed(_logger, ex);
            }
            try
            {
                await _wake.WaitAsync(interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass: timeouts, due phase-2 attempts, purges of ended transactions.</summary>
    internal async Task SweepAsync()
    {
        var now = _changes.NowUnixMs;
        foreach (var xid in await _store.FindTimedOutAsync(now))
        {
            _ = TimeOutAsync(xid);
        }
        foreach (var xid in await _store.FindDuePhaseTwoAsync(now))
        {
            if (!_driver.IsRunning(xid))
            {
                // Due as of now: an attempt that ends meanwhile may schedule the next one later.
                _ = _driver.RunAsync(xid, dueByUnixMs: now);
            }
        }
        try
        {
            await _store.PurgeEndedAsync(now - _options.EndedRetentionMs);
        }
        catch (Exception ex)
        {
            Log.PurgeFailed(_logger, ex, "(ended transactions)");
        }
        // The audit is kept for days: a look once a minute is plenty (more often only for a shorter retention).
        if (now - _interventionsExpiredUnixMs >= Math.Min(60_000, _options.InterventionRetentionMs))
        {
            _interventionsExpiredUnixMs = now;
            try
            {
                await _store.ExpireInterventionsAsync(now - _options.InterventionRetentionMs);
            }
            catch (Exception ex)
            {
                Log.PurgeFailed(_logger, ex, "(intervention audit)");
            }
        }
    }

    private async Task TimeOutAsync(string xid)
    {
        try
        {
            await _coordinator.TimeOutAsync(xid);
        }
        catch (Exception ex)
        {
            // The next sweep tries again.
            Log.TimeoutRollbackFailed(_logger, ex, xid);
        }
    }

    private void OnResourceConnected(IReadOnlyList<string> resourceIds) => _ = WakeAsync(resourceIds);

    private async Task WakeAsync(IReadOnlyList<string> resourceIds)
    {
        try
        {
            await _store.WakeWaitingForAsync(resourceIds);
        }
        catch (Exception ex)
        {
            Log.SweepFailed(_logger, ex);
        }
        Wake();
    }
}
