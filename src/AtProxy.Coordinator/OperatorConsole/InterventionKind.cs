namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>The console's interventions, named as the intervention audit names them.</summary>
internal enum InterventionKind
{
    Retry,
    ForceRollback,
    ForceCommit,
    ForgetBranch,
}

internal static class InterventionKindNames
{
    public static string NameOf(InterventionKind kind) => kind switch
    {
        InterventionKind.Retry => "retry",
        InterventionKind.ForceRollback => "force_rollback",
        InterventionKind.ForceCommit => "force_commit",
        _ => "forget_branch",
    };

    public static InterventionKind? Parse(string? name) => name switch
    {
        "retry" => InterventionKind.Retry,
        "force_rollback" => InterventionKind.ForceRollback,
        "force_commit" => InterventionKind.ForceCommit,
        "forget_branch" => InterventionKind.ForgetBranch,
        _ => null,
    };

    /// <summary>What the button says.</summary>
    public static string Label(InterventionKind kind) => kind switch
    {
        InterventionKind.Retry => "Retry phase 2",
        InterventionKind.ForceRollback => "Force rollback",
        InterventionKind.ForceCommit => "Force commit",
        _ => "Forget branch",
    };
}
