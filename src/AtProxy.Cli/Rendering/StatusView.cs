using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>A connected resource manager as JSON.</summary>
internal sealed record ResourceManagerJson(string ApplicationId, string InstanceId, IReadOnlyList<string> ResourceIds, string CoordinatorId, DateTimeOffset ConnectedAt);

/// <summary>The coordinator's status as JSON.</summary>
internal sealed record CoordinatorStatusJson(
    string Address, string Health, string CoordinatorId, string Version, string StoreKind, DateTimeOffset StartedAt, long UptimeMs,
    IReadOnlyDictionary<string, long> TransactionsByStatus, long Transactions, long LocksHeld, IReadOnlyList<ResourceManagerJson> ResourceManagers);

/// <summary>What the coordinator is and holds, as tables or JSON.</summary>
internal static class StatusView
{
    public static void Render(CliOutput output, Uri address, string health, GetCoordinatorStatusResponse status, DateTimeOffset now)
    {
        if (output.IsJson)
        {
            output.WriteJson(new CoordinatorStatusJson(
                address.ToString(), health, status.CoordinatorId, status.Version, status.StoreKind, Formats.FromUnixMs(status.StartedUnixMs),
                Formats.AgeMs(status.StartedUnixMs, now),
                status.TransactionsByStatus.ToDictionary(c => Formats.EnumName(c.Status), c => c.Count),
                status.TransactionsByStatus.Sum(c => c.Count), status.LocksHeld,
                [.. status.ResourceManagers.Select(r => new ResourceManagerJson(r.ApplicationId, r.InstanceId, [.. r.ResourceIds], r.CoordinatorId, Formats.FromUnixMs(r.ConnectedUnixMs)))]));
            return;
        }

        var console = output.Console;
        var summary = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        summary.AddRow(new Text("coordinator", new Style(Color.Grey)), new Text($"{status.CoordinatorId} at {address}", new Style(decoration: Decoration.Bold)));
        summary.AddRow(new Text("health", new Style(Color.Grey)), new Text(health, health == "SERVING" ? new Style(Color.Green) : new Style(Color.Red, decoration: Decoration.Bold)));
        summary.AddRow(new Text("version", new Style(Color.Grey)), new Text(status.Version));
        summary.AddRow(new Text("store", new Style(Color.Grey)), new Text(status.StoreKind));
        summary.AddRow(new Text("up since", new Style(Color.Grey)), new Text($"{Formats.Timestamp(status.StartedUnixMs)} ({Formats.Duration(Formats.AgeMs(status.StartedUnixMs, now))})"));
        summary.AddRow(new Text("locks held", new Style(Color.Grey)), new Text(Formats.Number(status.LocksHeld)));
        console.Write(summary);
        console.WriteLine();

        if (status.TransactionsByStatus.Count == 0)
        {
            console.WriteLine("No global transactions.");
        }
        else
        {
            var counts = new Table().Border(TableBorder.Rounded).Title("transactions").AddColumns("status", "count");
            counts.Columns[1].RightAligned();
            foreach (var c in status.TransactionsByStatus)
            {
                counts.AddRow(StatusStyles.Global(c.Status), new Text(Formats.Number(c.Count)));
            }
            console.Write(counts);
        }

        if (status.ResourceManagers.Count == 0)
        {
            console.WriteLine("No resource managers connected.");
            return;
        }
        var managers = new Table().Border(TableBorder.Rounded).Title("resource managers")
            .AddColumns("application", "instance", "resources", "connected");
        foreach (var r in status.ResourceManagers)
        {
            managers.AddRow(
                new Text(r.ApplicationId), new Text(r.InstanceId), new Text(string.Join(", ", r.ResourceIds)),
                new Text($"{Formats.Timestamp(r.ConnectedUnixMs)} ({Formats.Duration(Formats.AgeMs(r.ConnectedUnixMs, now))})"));
        }
        console.Write(managers);
    }
}
