using System.Data;
using AtProxy.Transactions;

namespace AtProxy.Execution;

/// <summary>Decides, at the cost of one AsyncLocal read, whether a command needs the phase-1 engine.</summary>
internal static class StatementRouter
{
    public static bool ShouldIntercept(CommandType commandType) =>
        GlobalTransactionContext.CurrentXid is not null || GlobalTransactionContext.InGlobalLockScope;
}
