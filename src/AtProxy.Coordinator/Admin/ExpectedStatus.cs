using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Admin;

/// <summary>
/// The guard against acting on a stale view: an intervention that names the status the operator
/// saw is refused unless the transaction is in it now. Checked while the intervention's scope
/// holds the transaction, before anything is written, so of two operators acting on the same view
/// only the first passes; on a shared store the second's write would also lose on the row's
/// version, and its call, run again on the new state, fails here.
/// </summary>
internal static class ExpectedStatus
{
    /// <summary>Refuses a value the contract does not define (UNSPECIFIED means: no check).</summary>
    public static void Validate(GlobalStatus expected)
    {
        if (!Enum.IsDefined(expected))
        {
            throw CoordinatorErrors.InvalidArgument($"expected_status {(int)expected} is not a global status.");
        }
    }

    /// <summary>Caller holds the transaction's scope. <paramref name="what"/> completes "Cannot … 'xid'".</summary>
    public static void Require(GlobalSession session, GlobalStatus expected, string what)
    {
        if (expected != GlobalStatus.Unspecified && session.Status != expected)
        {
            throw CoordinatorErrors.FailedPrecondition(
                $"Cannot {what} '{session.Xid}': it is {StatusNames.Of(session.Status)} now, not the {StatusNames.Of(expected)} you saw; reload and decide again.");
        }
    }
}
