using System.CommandLine;
using AtProxy.Cli.Coordinator;
using AtProxy.Cli.Input;
using AtProxy.Cli.Rendering;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Commands;

/// <summary><c>atproxy tx list|show|retry|rollback|commit</c>: global transactions and the decisions a person may take.</summary>
internal static class TransactionCommands
{
    public static Command Create() => new("tx", "Global transactions: list, show, and repair what is stuck.")
    {
        List(),
        Show(),
        Intervene("retry", "Run phase 2 again now for a transaction in a retrying, failed or retry-timeout status (e.g. after the data or the database was fixed), with a fresh retry budget.",
            (admin, request, ct) => admin.RetryAsync(request, ct)),
        Intervene("rollback", "Decide rollback of a transaction in BEGIN, or resume the rollback of a ROLLBACK_FAILED one after the data was fixed.",
            (admin, request, ct) => admin.ForceRollbackAsync(request, ct)),
        Intervene("commit", "Decide commit of a transaction in BEGIN, or resume the commit of a COMMIT_FAILED one.",
            (admin, request, ct) => admin.ForceCommitAsync(request, ct)),
    };

    private static Command List()
    {
        var status = new Option<GlobalStatus[]>("--status")
        {
            Description = $"Only these statuses (repeat or separate with commas): {StatusParser.Names}.",
            HelpName = "STATUS",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result =>
            {
                var statuses = new List<GlobalStatus>();
                foreach (var name in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
                {
                    if (!StatusParser.TryParse(name, out var parsed))
                    {
                        result.AddError($"'{name}' is not a transaction status; use one of: {StatusParser.Names}.");
                        return [];
                    }
                    statuses.Add(parsed);
                }
                return [.. statuses];
            },
        };
        var name = new Option<string?>("--name") { Description = "Only transactions with this exact name.", HelpName = "NAME" };
        var application = new Option<string?>("--application") { Description = "Only transactions begun by this application id.", HelpName = "ID" };
        var olderThan = new Option<TimeSpan?>("--older-than")
        {
            Description = "Only transactions begun at least this long ago (e.g. 30s, 5m, 2h, 1d).",
            HelpName = "DURATION",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (DurationParser.TryParse(text, out var duration))
                {
                    return duration;
                }
                result.AddError($"'{text}' is not a duration; write e.g. 90s, 15m, 2h, 1d or 1h30m.");
                return null;
            },
        };
        var paging = new PagingOptions();

        var command = new Command("list", "List global transactions, oldest first, with their status, branches, locks and last error.")
        {
            status, name, application, olderThan,
        };
        paging.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            using var admin = context.ConnectToCoordinator();
            var (transactions, next) = await paging.FetchAsync<GlobalTransactionInfo>(parseResult, async (size, token) =>
            {
                var request = new ListTransactionsRequest
                {
                    Name = parseResult.GetValue(name) ?? "",
                    ApplicationId = parseResult.GetValue(application) ?? "",
                    OlderThanMs = (long)(parseResult.GetValue(olderThan)?.TotalMilliseconds ?? 0),
                    PageSize = size,
                    PageToken = token,
                };
                request.Statuses.Add(parseResult.GetValue(status) ?? []);
                var response = await admin.ListTransactionsAsync(request, cancellationToken);
                return (response.Transactions, response.NextPageToken);
            });
            TransactionViews.RenderList(context.Output, transactions, next, DateTimeOffset.UtcNow);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show()
    {
        var xid = Intervention.XidArgument();
        var command = new Command("show", "Show one global transaction: branches with status, resource and last error; its locks; its history; the timeout left.")
        {
            xid,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            using var admin = context.ConnectToCoordinator();
            var detail = await admin.GetTransactionAsync(parseResult.GetRequiredValue(xid), cancellationToken);
            TransactionViews.RenderDetail(context.Output, detail, DateTimeOffset.UtcNow);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Intervene(string action, string description, Func<AdminConnection, InterveneRequest, CancellationToken, Task<InterveneResponse>> call)
    {
        var xid = Intervention.XidArgument();
        var intervention = new Intervention();
        var command = new Command(action, description) { xid };
        intervention.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var target = parseResult.GetRequiredValue(xid);
            return intervention.RunAsync(parseResult, action, target, branchId: null,
                (admin, why, expected, ct) => call(admin, new InterveneRequest { Xid = target, Reason = why, ExpectedStatus = expected }, ct), cancellationToken);
        });
        return command;
    }
}
