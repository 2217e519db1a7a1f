using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Sessions;

/// <summary>What each branch status means to phase 2.</summary>
internal static class BranchStatusRules
{
    /// <summary>Nothing is left to do for the branch in phase 2.</summary>
    public static bool IsDone(BranchStatus status) => status is
        BranchStatus.PhaseOneFailed or BranchStatus.PhaseTwoCommitted or BranchStatus.PhaseTwoRollbacked;
}
