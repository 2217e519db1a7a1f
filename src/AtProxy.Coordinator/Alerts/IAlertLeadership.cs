namespace AtProxy.Coordinator.Alerts;

/// <summary>
/// Which coordinator notifies the alerts that every coordinator sharing a store sees alike: the
/// "unfinished" transactions, found by reading the store. One at a time, so such a condition is
/// sent once and not once per coordinator. Alerts a coordinator finds in its own work (phase-2
/// retries out of budget, failed rollbacks) are raised where they happen and need no leader.
/// </summary>
internal interface IAlertLeadership
{
    /// <summary>True while this coordinator notifies the store-wide alerts; asked once per alert pass.</summary>
    Task<bool> LeadsAsync(CancellationToken cancellationToken);
}

/// <summary>A store only one coordinator uses (embedded, in memory): it always leads.</summary>
internal sealed class SoleCoordinatorAlertLeadership : IAlertLeadership
{
    public Task<bool> LeadsAsync(CancellationToken cancellationToken) => Task.FromResult(true);
}
