using System.CommandLine;
using AtProxy.Cli.Coordinator;
using AtProxy.Cli.Input;
using AtProxy.Cli.Rendering;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Commands;

/// <summary>
/// What every intervention does the same way: insist on a reason, show what is about to change
/// and ask (unless --yes), make the call, report the status it left (or, with --wait, the status
/// phase 2 settled in).
/// </summary>
internal sealed class Intervention
{
    private const int MaxReasonLength = 1024;

    public Option<string?> Reason { get; } = new("--reason")
    {
        Description = "Why; required, and recorded in the transaction's history with your name.",
        HelpName = "TEXT",
    };

    public Option<bool> Yes { get; } = new("--yes", "-y")
    {
        Description = "Do not ask for confirmation.",
    };

    public Option<bool> Wait { get; } = new("--wait")
    {
        Description = "Wait until phase 2 has settled and report how it ended (exit 1 when the transaction stopped again).",
    };

    public Option<TimeSpan> WaitTimeout { get; } = new("--wait-timeout")
    {
        Description = "How long --wait waits (e.g. 30s, 5m).",
        HelpName = "DURATION",
        DefaultValueFactory = _ => TimeSpan.FromMinutes(2),
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (DurationParser.TryParse(text, out var duration) && duration > TimeSpan.Zero)
            {
                return duration;
            }
            result.AddError($"'{text}' is not a duration; write e.g. 30s, 5m or 1h.");
            return TimeSpan.Zero;
        },
    };

    public Option<GlobalStatus?> ExpectStatus { get; } = new("--expect-status")
    {
        Description = $"Refuse (and change nothing) unless the transaction is in this status now, e.g. rollback-failed. Without it the status shown in the confirmation is expected. One of: {StatusParser.Names}.",
        HelpName = "STATUS",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (StatusParser.TryParse(text, out var status))
            {
                return status;
            }
            result.AddError($"'{text}' is not a transaction status; use one of: {StatusParser.Names}.");
            return null;
        },
    };

    public static Argument<string> XidArgument() => new("XID") { Description = "The global transaction, e.g. tc:42." };

    public void AddTo(Command command)
    {
        command.Add(Reason);
        command.Add(ExpectStatus);
        command.Add(Yes);
        command.Add(Wait);
        command.Add(WaitTimeout);
    }

    public async Task<int> RunAsync(
        ParseResult parseResult, string action, string xid, long? branchId,
        Func<AdminConnection, string, GlobalStatus, CancellationToken, Task<InterveneResponse>> call, CancellationToken cancellationToken)
    {
        var reason = RequireReason(parseResult.GetValue(Reason));
        var context = CliContext.From(parseResult);
        using var admin = context.ConnectToCoordinator();
        // The coordinator refuses the call unless the transaction is still in the status the person
        // (or the script) saw: the one shown in the question, or the one --expect-status names.
        var expected = parseResult.GetValue(ExpectStatus) ?? GlobalStatus.Unspecified;
        if (!parseResult.GetValue(Yes))
        {
            var current = (await admin.GetTransactionAsync(xid, cancellationToken)).Transaction;
            if (expected == GlobalStatus.Unspecified)
            {
                expected = current.Status;
            }
            var target = branchId is { } id ? $"branch {Formats.Number(id)} of {xid}" : xid;
            var question = $"{action} {target} ({Formats.EnumName(current.Status)}, {current.Branches.Count} branch(es), " +
                $"{current.Branches.Sum(b => b.LockCount)} lock(s)) because \"{reason}\"?";
            if (!Confirmation.Ask(question))
            {
                throw CliFailure.Refused("Not confirmed; nothing was changed. Answer 'y', or pass --yes to skip the question.");
            }
        }
        var status = (await call(admin, reason, expected, cancellationToken)).Status;
        if (!parseResult.GetValue(Wait))
        {
            var remains = branchId is { } forgotten
                ? WhatRemains.AfterForget((await admin.GetTransactionAsync(xid, cancellationToken)).Transaction, forgotten)
                : null;
            InterventionView.Render(context.Output, action, xid, branchId, reason, status, remains);
            return ExitCodes.Success;
        }

        var settled = await PhaseTwoWait.UntilSettledAsync(admin, xid, parseResult.GetValue(WaitTimeout),
            transaction => InterventionView.RenderProgress(context.Output, transaction), cancellationToken);
        InterventionView.Render(context.Output, action, xid, branchId, reason, settled.Status);
        if (PhaseTwoWait.EndedWell(settled.Status))
        {
            return ExitCodes.Success;
        }
        var lastError = settled.Branches.Select(b => b.LastError).LastOrDefault(e => e.Length > 0);
        throw CliFailure.Refused(
            $"'{xid}' stopped again in {Formats.EnumName(settled.Status)}{(lastError is null ? "" : $": {lastError}")}. Inspect it with 'atproxy tx show {xid}'.");
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
