namespace AtProxy.Coordinator.Alerts;

/// <summary>
/// Told about every alert this coordinator raises. A host that embeds the coordinator registers
/// its own (<c>services.AddSingleton&lt;ICoordinatorAlertObserver, MyObserver&gt;()</c> in the
/// <c>configure</c> callback of <see cref="CoordinatorApplication.Build"/>). Called one alert at a
/// time, off the phase-2 path, in the order alerts were raised; an observer that throws is logged
/// and the others are still told.
/// </summary>
public interface ICoordinatorAlertObserver
{
    /// <summary>An alert was raised.</summary>
    /// <param name="alert">The alert.</param>
    /// <param name="cancellationToken">Signalled when the coordinator stops.</param>
    Task OnAlertAsync(CoordinatorAlert alert, CancellationToken cancellationToken);
}
