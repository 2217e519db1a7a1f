using System.CommandLine;
using AtProxy.Cli.Rendering;
using Grpc.Health.V1;

namespace AtProxy.Cli.Commands;

/// <summary><c>atproxy status</c>: the coordinator's health, store, counts, locks and connected resource managers.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Show the coordinator's health, store kind, transactions by status, locks held and connected resource managers.");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            using var admin = context.ConnectToCoordinator();
            var health = await admin.CheckHealthAsync(cancellationToken);
            var status = await admin.GetStatusAsync(cancellationToken);
            StatusView.Render(context.Output, admin.Address, HealthName(health), status, DateTimeOffset.UtcNow);
            return ExitCodes.Success;
        });
        return command;
    }

    private static string HealthName(HealthCheckResponse.Types.ServingStatus status) => status switch
    {
        HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
        HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
        HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
        _ => "UNKNOWN",
    };
}
