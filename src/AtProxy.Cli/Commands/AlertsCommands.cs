using System.CommandLine;
using AtProxy.Cli.Rendering;

namespace AtProxy.Cli.Commands;

/// <summary><c>atproxy alerts list</c>: what the coordinator has alerted about and still holds.</summary>
internal static class AlertsCommands
{
    public static Command Create()
    {
        var list = new Command("list", "List the coordinator's active alerts, oldest first: kind, XID, status, age, what happened.");
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            using var admin = context.ConnectToCoordinator();
            var alerts = await admin.ListAlertsAsync(cancellationToken);
            AlertViews.Render(context.Output, alerts.Alerts, DateTimeOffset.UtcNow);
            return ExitCodes.Success;
        });

        return new Command("alerts", "Alerts the coordinator raised that still hold (retry timeouts, failed phase 2, unfinished transactions).") { list };
    }
}
