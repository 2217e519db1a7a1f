using System.Globalization;
using AtProxy.Protocol.V1;
using Grpc.Net.Client;
using Spectre.Console;

namespace AtProxy.Demo.Scenario.Locks;

/// <summary>Lists the locks with the coordinator's admin API (<c>ListLocks</c>, the call behind <c>atproxy locks list</c>) and prints a table.</summary>
internal sealed class AdminApiLockView : ILockView
{
    /// <inheritdoc />
    public async Task ShowAsync(Uri coordinator, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(coordinator);
        var admin = new Admin.AdminClient(channel);
        var response = await admin.ListLocksAsync(new ListLocksRequest { PageSize = 100 }, cancellationToken: cancellationToken);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("resource").AddColumn("table").AddColumn("primary key").AddColumn("xid")
            .AddColumn(new TableColumn("branch").RightAligned()).AddColumn("application").AddColumn(new TableColumn("held for").RightAligned());
        foreach (var held in response.Locks)
        {
            table.AddRow(
                Markup.Escape(held.ResourceId), Markup.Escape(held.Key.Table), Markup.Escape(held.Key.PrimaryKey), Markup.Escape(held.Xid),
                held.BranchId.ToString(CultureInfo.InvariantCulture), Markup.Escape(held.ApplicationId),
                $"{Math.Max(0, now - held.AcquiredUnixMs).ToString(CultureInfo.InvariantCulture)} ms");
        }
        AnsiConsole.Write(table);
    }
}
