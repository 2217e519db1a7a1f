using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>The outcome of an intervention as JSON.</summary>
internal sealed record InterventionJson(string Action, string Xid, long? BranchId, string Reason, string Status, string? Remains);

/// <summary>What an intervention did: the transaction's status afterwards.</summary>
internal static class InterventionView
{
    // remains: after a forgotten branch, what is left to do (see WhatRemains).
    public static void Render(CliOutput output, string action, string xid, long? branchId, string reason, GlobalStatus status, string? remains = null)
    {
        if (output.IsJson)
        {
            output.WriteJson(new InterventionJson(action, xid, branchId, reason, Formats.EnumName(status), remains));
            return;
        }
        var target = branchId is { } id ? $"branch {Formats.Number(id)} of {xid}" : xid;
        output.Console.WriteLine($"{action}: {target} is now {Formats.EnumName(status)}.");
        if (remains is not null)
        {
            output.Console.WriteLine(remains);
        }
        output.Console.WriteLine($"Follow it with 'atproxy tx show {xid}'.");
    }

    /// <summary>
    /// One line per new status or wait while --wait follows phase 2; to standard error with --json,
    /// so standard output stays one JSON document.
    /// </summary>
    public static void RenderProgress(CliOutput output, GlobalTransactionInfo transaction)
    {
        var line = $"{DateTimeOffset.UtcNow:HH:mm:ss} {transaction.Xid} {Formats.EnumName(transaction.Status)}" +
            (transaction.WaitingFor.Length > 0 ? $": {transaction.WaitingFor}" : "");
        if (output.IsJson)
        {
            System.Console.Error.WriteLine(line);
            return;
        }
        output.Console.WriteLine(line);
    }
}
