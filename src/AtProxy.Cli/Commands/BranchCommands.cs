using System.CommandLine;
using AtProxy.Cli.Input;

namespace AtProxy.Cli.Commands;

/// <summary><c>atproxy branch forget</c>: mark one branch done after a person repaired it by hand.</summary>
internal static class BranchCommands
{
    public static Command Create()
    {
        var xid = Intervention.XidArgument();
        var branch = new Argument<long>("BRANCH")
        {
            Description = "The branch id, as 'atproxy tx show' lists it.",
            CustomParser = Numbers.BranchId,
        };
        var intervention = new Intervention();
        var forget = new Command("forget",
            "Mark one branch as done without running its phase 2 (you repaired its data by hand); its locks are released. Its undo rows stay in its database.")
        {
            xid, branch,
        };
        intervention.AddTo(forget);
        forget.SetAction((parseResult, cancellationToken) =>
        {
            var target = parseResult.GetRequiredValue(xid);
            var branchId = parseResult.GetValue(branch);
            return intervention.RunAsync(parseResult, "forget", target, branchId,
                (admin, why, expected, ct) => admin.ForgetBranchAsync(new Protocol.V1.ForgetBranchRequest { Xid = target, BranchId = branchId, Reason = why, ExpectedStatus = expected }, ct),
                cancellationToken);
        });
        return new Command("branch", "One branch of a global transaction.") { forget };
    }
}
