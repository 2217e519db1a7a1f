using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.ResourceManagers;

/// <summary>How one phase-2 command to a resource manager ended.</summary>
internal enum BranchCommandVerdict
{
    /// <summary>The branch finished phase 2.</summary>
    Succeeded,

    /// <summary>It did not, but trying again may work (RM down, timeout, database unavailable).</summary>
    Retryable,

    /// <summary>It cannot succeed (e.g. a dirty write); retries stop until a person decides.</summary>
    Unretryable,
}

/// <summary>The result of one phase-2 command: the verdict, the branch status to record and why.</summary>
internal sealed record BranchCommandOutcome(BranchCommandVerdict Verdict, BranchStatus Status, string Message)
{
    /// <summary>No resource manager for the branch's resource was connected: nothing was sent.</summary>
    public bool NoResourceManager { get; init; }

    /// <summary>The instance refused: it serves the resource id over another database than the branch's.</summary>
    public bool IdentityMismatch { get; init; }

    /// <summary>Interprets a resource manager's answer to a command for <paramref name="action"/>.</summary>
    public static BranchCommandOutcome FromResult(BranchAction action, BranchCommandResult result) =>
        result.IdentityMismatch ? Retry(action, result.Message) with { IdentityMismatch = true } : Interpret(action, result);

    private static BranchCommandOutcome Interpret(BranchAction action, BranchCommandResult result) => (action, result.Status) switch
    {
        (BranchAction.Commit, BranchStatus.PhaseTwoCommitted) => new(BranchCommandVerdict.Succeeded, result.Status, ""),
        (BranchAction.Commit, BranchStatus.PhaseTwoCommitFailedRetryable) => new(BranchCommandVerdict.Retryable, result.Status, result.Message),
        (BranchAction.Commit, BranchStatus.PhaseTwoCommitFailedUnretryable) => new(BranchCommandVerdict.Unretryable, result.Status, result.Message),
        (BranchAction.Rollback, BranchStatus.PhaseTwoRollbacked) => new(BranchCommandVerdict.Succeeded, result.Status, ""),
        (BranchAction.Rollback, BranchStatus.PhaseTwoRollbackFailedRetryable) => new(BranchCommandVerdict.Retryable, result.Status, result.Message),
        (BranchAction.Rollback, BranchStatus.PhaseTwoRollbackFailedUnretryable) => new(BranchCommandVerdict.Unretryable, result.Status, result.Message),
        _ => Retry(action, $"The resource manager answered {result.Status} to a {action} command; retrying. {result.Message}".TrimEnd()),
    };

    /// <summary>A failure to deliver or complete the command: the branch is tried again later.</summary>
    public static BranchCommandOutcome Retry(BranchAction action, string message) =>
        new(BranchCommandVerdict.Retryable,
            action == BranchAction.Commit ? BranchStatus.PhaseTwoCommitFailedRetryable : BranchStatus.PhaseTwoRollbackFailedRetryable,
            message);
}
