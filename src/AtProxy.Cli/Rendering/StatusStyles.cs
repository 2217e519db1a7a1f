using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>Colours that make a stuck transaction stand out in a long list.</summary>
internal static class StatusStyles
{
    public static Style Of(GlobalStatus status) => status switch
    {
        GlobalStatus.RollbackFailed or GlobalStatus.CommitFailed or
            GlobalStatus.RollbackRetryTimeout or GlobalStatus.CommitRetryTimeout => new Style(Color.Red, decoration: Decoration.Bold),
        GlobalStatus.CommitRetrying or GlobalStatus.RollbackRetrying or GlobalStatus.TimeoutRollbackRetrying => new Style(Color.Yellow),
        GlobalStatus.Committed or GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.Finished => new Style(Color.Green),
        _ => Style.Plain,
    };

    public static Style Of(BranchStatus status) => status switch
    {
        BranchStatus.PhaseTwoCommitFailedUnretryable or BranchStatus.PhaseTwoRollbackFailedUnretryable or BranchStatus.PhaseOneFailed => new Style(Color.Red, decoration: Decoration.Bold),
        BranchStatus.PhaseTwoCommitFailedRetryable or BranchStatus.PhaseTwoRollbackFailedRetryable => new Style(Color.Yellow),
        BranchStatus.PhaseTwoCommitted or BranchStatus.PhaseTwoRollbacked => new Style(Color.Green),
        _ => Style.Plain,
    };

    public static Text Global(GlobalStatus status) => new(Formats.EnumName(status), Of(status));

    public static Text Branch(BranchStatus status) => new(Formats.EnumName(status), Of(status));
}
