using System.CommandLine;
using AtProxy.Cli.Coordinator;
using AtProxy.Cli.Input;
using AtProxy.Cli.Rendering;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Commands;

/// <summary>
/// What every intervention does the same way: insist on a reason, show what is about to change
/// and ask (unless --yes), make the call, report the status it left.
/// </summary>
internal static class Intervention
{
    private const int MaxReasonLength = 1024;

    public static Option<string?> ReasonOption() => new("--reason")
    {
        Description = "Why; required, and recorded in the transaction's history with your name.",
        HelpName = "TEXT",
    };

    public static Option<bool> YesOption() => new("--yes", "-y")
    {
        Description = "Do not ask for confirmation.",
    };

    public static Argument<string> XidArgument() => new("XID") { Description = "The global transaction, e.g. tc:42." };

    public static async Task<int> RunAsync(
        ParseResult parseResult, string action, string xid, long? branchId, Option<string?> reasonOption, Option<bool> yesOption,
        Func<AdminConnection, string, CancellationToken, Task<InterveneResponse>> call, CancellationToken cancellationToken)
    {
        var reason = RequireReason(parseResult.GetValue(reasonOption));
        var context = CliContext.From(parseResult);
        using var admin = context.ConnectToCoordinator();
        if (!parseResult.GetValue(yesOption))
        {
            var current = (await admin.GetTransactionAsync(xid, cancellationToken)).Transaction;
            var target = branchId is { } id ? $"branch {Formats.Number(id)} of {xid}" : xid;
            var question = $"{action} {target} ({Formats.EnumName(current.Status)}, {current.Branches.Count} branch(es), " +
                $"{current.Branches.Sum(b => b.LockCount)} lock(s)) because \"{reason}\"?";
            if (!Confirmation.Ask(question))
            {
                throw CliFailure.Refused("Not confirmed; nothing was changed. Answer 'y', or pass --yes to skip the question.");
            }
        }
        var response = await call(admin, reason, cancellationToken);
        InterventionView.Render(context.Output, action, xid, branchId, reason, response.Status);
        return ExitCodes.Success;
    }

    private static string RequireReason(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw CliFailure.Usage("A reason is required: add --reason \"why\" (it is recorded in the transaction's history).");
        }
        reason = reason.Trim();
        return reason.Length <= MaxReasonLength
            ? reason
            : throw CliFailure.Usage($"The reason is {reason.Length} characters long; at most {MaxReasonLength} are allowed.");
    }
}
