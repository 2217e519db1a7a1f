using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>An active alert as JSON.</summary>
internal sealed record AlertJson(
    string Kind, string Xid, string Name, string ApplicationId, string Status, DateTimeOffset RaisedAt, long AgeMs, string Message,
    IReadOnlyList<AlertBranchErrorJson> BranchErrors);

/// <summary>One branch's last error in an alert, as JSON.</summary>
internal sealed record AlertBranchErrorJson(long BranchId, string ResourceId, string Status, string Error);

/// <summary>The coordinator's active alerts as a table or as JSON.</summary>
internal static class AlertViews
{
    public static AlertJson ToJson(Alert a) => new(
        a.Kind, a.Xid, a.Name, a.ApplicationId, Formats.EnumName(a.Status), Formats.FromUnixMs(a.RaisedUnixMs), a.AgeMs, a.Message,
        [.. a.BranchErrors.Select(e => new AlertBranchErrorJson(e.BranchId, e.ResourceId, Formats.EnumName(e.Status), e.Error))]);

    public static void Render(CliOutput output, IReadOnlyList<Alert> alerts, DateTimeOffset now)
    {
        if (output.IsJson)
        {
            output.WriteJson(alerts.Select(ToJson).ToList());
            return;
        }
        if (alerts.Count == 0)
        {
            output.Console.WriteLine("No active alerts.");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("kind", "xid", "status", "raised", "message");
        foreach (var a in alerts)
        {
            table.AddRow(
                new Text(a.Kind, new Style(Color.Red)), new Text(a.Xid), StatusStyles.Global(a.Status),
                new Text($"{Formats.Duration(Formats.AgeMs(a.RaisedUnixMs, now))} ago"), new Text(a.Message));
        }
        output.Console.Write(table);
        output.Console.WriteLine($"{alerts.Count} alert(s), oldest first. Inspect one with 'atproxy tx show XID'.");
    }
}
