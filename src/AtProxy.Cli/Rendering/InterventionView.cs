using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>The outcome of an intervention as JSON.</summary>
internal sealed record InterventionJson(string Action, string Xid, long? BranchId, string Reason, string Status);

/// <summary>What an intervention did: the transaction's status afterwards.</summary>
internal static class InterventionView
{
    public static void Render(CliOutput output, string action, string xid, long? branchId, string reason, GlobalStatus status)
    {
        if (output.IsJson)
        {
            output.WriteJson(new InterventionJson(action, xid, branchId, reason, Formats.EnumName(status)));
            return;
        }
        var target = branchId is { } id ? $"branch {Formats.Number(id)} of {xid}" : xid;
        output.Console.WriteLine($"{action}: {target} is now {Formats.EnumName(status)}.");
        output.Console.WriteLine($"Follow it with 'atproxy tx show {xid}'.");
    }
}
