using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>The coordinator's active alerts.</summary>
internal sealed class AlertsModel : ConsolePage
{
    public IReadOnlyList<Alert> Alerts { get; private set; } = [];

    public void OnGet() => Alerts = Admin.ListAlerts().Alerts;
}
