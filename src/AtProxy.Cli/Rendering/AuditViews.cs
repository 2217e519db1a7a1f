using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>One audited intervention as JSON.</summary>
internal sealed record InterventionAuditJson(
    long Id, DateTimeOffset At, string Actor, string Action, string Xid, long? BranchId, string Reason, string StatusBefore, string StatusAfter, string CoordinatorId);

/// <summary>A page of the audit as JSON; <c>nextPageToken</c> is null on the last page.</summary>
internal sealed record InterventionAuditPageJson(IReadOnlyList<InterventionAuditJson> Interventions, string? NextPageToken);

/// <summary>The intervention audit as a table or as JSON.</summary>
internal static class AuditViews
{
    public static void Render(CliOutput output, IReadOnlyList<Intervention> interventions, string? nextPageToken)
    {
        if (output.IsJson)
        {
            output.WriteJson(new InterventionAuditPageJson(
                [.. interventions.Select(i => new InterventionAuditJson(
                    i.Id, Formats.FromUnixMs(i.AtUnixMs), i.Actor, i.Action, i.Xid, i.BranchId == 0 ? null : i.BranchId, i.Reason,
                    Formats.EnumName(i.StatusBefore), Formats.EnumName(i.StatusAfter), i.CoordinatorId))],
                nextPageToken));
            return;
        }
        if (interventions.Count == 0)
        {
            output.Console.WriteLine("No interventions recorded.");
            Paging.RenderHint(output, nextPageToken);
            return;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("at", "actor", "action", "xid", "branch", "before", "after", "coordinator", "reason");
        foreach (var i in interventions)
        {
            table.AddRow(
                new Text(Formats.Timestamp(i.AtUnixMs)), new Text(i.Actor), new Text(i.Action, new Style(decoration: Decoration.Bold)), new Text(i.Xid),
                new Text(i.BranchId == 0 ? "" : Formats.Number(i.BranchId)), StatusStyles.Global(i.StatusBefore), StatusStyles.Global(i.StatusAfter),
                new Text(i.CoordinatorId), new Text(i.Reason));
        }
        output.Console.Write(table);
        output.Console.WriteLine($"{interventions.Count} intervention(s), newest first.");
        Paging.RenderHint(output, nextPageToken);
    }
}
