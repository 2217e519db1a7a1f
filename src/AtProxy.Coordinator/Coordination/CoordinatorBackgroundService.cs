using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
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
        IOptions<CoordinatorOptions> options,
        ILogger<CoordinatorBackgroundService> logger)
    {
        _store = store;
        _coordinator = coordinator;
        _driver = driver;
        _changes = changes;
        _options = options.Value;
        _logger = logger;
        hub.ResourceConnected += OnResourceConnected;
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
                Sweep();
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

    /// <summary>One pass over every transaction.</summary>
    internal void Sweep()
    {
        var now = _changes.NowUnixMs;
        foreach (var session in _store.Sessions)
        {
            var status = session.Status;
            if (status == Protocol.V1.GlobalStatus.Begin)
            {
                if (now >= session.DeadlineUnixMs)
                {
                    _ = TimeOutAsync(session);
                }
            }
            else if (GlobalStatusRules.IsPhaseTwoInProgress(status))
            {
                if (session.NextAttemptUnixMs <= now && !PhaseTwoDriver.IsRunning(session))
                {
                    _ = _driver.RunAsync(session);
                }
            }
            else if (GlobalStatusRules.IsEnded(status) && now - session.LastUpdateUnixMs >= _options.EndedRetentionMs)
            {
                _ = PurgeAsync(session);
            }
        }
    }

    private async Task TimeOutAsync(GlobalSession session)
    {
        try
        {
            await _coordinator.TimeOutAsync(session);
        }
        catch (Exception ex)
        {
            // The next sweep tries again.
            Log.TimeoutRollbackFailed(_logger, ex, session.Xid);
        }
    }

    private async Task PurgeAsync(GlobalSession session)
    {
        try
        {
            await session.Gate.WaitAsync();
            try
            {
                if (_store.Find(session.Xid) is not null && GlobalStatusRules.IsEnded(session.Status))
                {
                    await _store.PurgeAsync(session.Xid);
                }
            }
            finally
            {
                session.Gate.Release();
            }
        }
        catch (Exception ex)
        {
            Log.PurgeFailed(_logger, ex, session.Xid);
        }
    }

    private void OnResourceConnected(IReadOnlyList<string> resourceIds)
    {
        foreach (var session in _store.Sessions)
        {
            if (!GlobalStatusRules.IsPhaseTwoInProgress(session.Status))
            {
                continue;
            }
            foreach (var branch in session.Branches())
            {
                if (!BranchStatusRules.IsDone(branch.Status) && resourceIds.Contains(branch.ResourceId))
                {
                    session.NextAttemptUnixMs = 0;
                    break;
                }
            }
        }
        Wake();
    }
}
