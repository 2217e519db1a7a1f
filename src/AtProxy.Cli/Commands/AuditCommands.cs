using System.CommandLine;
using AtProxy.Cli.Rendering;
using AtProxy.Protocol.V1;
using AtProxy.Transactions;

namespace AtProxy.Cli.Commands;

/// <summary><c>atproxy audit list</c>: every intervention a person made, newest first, kept long after its transaction.</summary>
internal static class AuditCommands
{
    public static Command Create()
    {
        var xid = new Option<string?>("--xid")
        {
            Description = "Only the interventions on this global transaction.",
            HelpName = "XID",
        };
        xid.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string?>();
            if (text is not null && Xid.Problem(text) is { } problem)
            {
                result.AddError(problem);
            }
        });
        var paging = new PagingOptions();
        var list = new Command("list", "List interventions, newest first: when, who, what, on which transaction and branch, the status before and after, why.")
        {
            xid,
        };
        paging.AddTo(list);
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            using var admin = context.ConnectToCoordinator();
            var (interventions, next) = await paging.FetchAsync<Protocol.V1.Intervention>(parseResult, async (size, token) =>
            {
                var response = await admin.ListInterventionsAsync(
                    new ListInterventionsRequest { Xid = parseResult.GetValue(xid) ?? "", PageSize = size, PageToken = token }, cancellationToken);
                return (response.Interventions, response.NextPageToken);
            });
            AuditViews.Render(context.Output, interventions, next);
            return ExitCodes.Success;
        });
        return new Command("audit", "The durable record of every intervention (kept for the coordinator's InterventionRetentionMs, 90 days by default).") { list };
    }
}
