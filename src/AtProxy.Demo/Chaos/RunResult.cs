namespace AtProxy.Demo.Chaos;

/// <summary>How one run of the campaign went.</summary>
/// <param name="Plan">What was planned.</param>
/// <param name="Fired">Whether the fault struck (a point not reached within the run kills nothing).</param>
/// <param name="Transactions">Orders placed.</param>
/// <param name="Committed">Orders whose global transaction committed (the coordinator's final status).</param>
/// <param name="RolledBack">Orders whose global transaction did not commit.</param>
/// <param name="Failed">Orders that came back without a global transaction (the order service died or could not begin one).</param>
/// <param name="Violations">The invariants broken once the run had settled (or at its deadline).</param>
/// <param name="Elapsed">The run's wall-clock time, setting up and tearing down included.</param>
/// <param name="Error">Why the run could not be carried out (a setup failure: no verdict on consistency).</param>
internal sealed record RunResult(
    RunPlan Plan, bool Fired, int Transactions, int Committed, int RolledBack, int Failed, IReadOnlyList<string> Violations, TimeSpan Elapsed, string? Error = null)
{
    /// <summary>Why orders without a global transaction failed, most frequent first.</summary>
    public IReadOnlyList<(string Detail, int Count)> FailureDetails { get; init; } = [];
}
