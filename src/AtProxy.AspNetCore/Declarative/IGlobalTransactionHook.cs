namespace AtProxy.AspNetCore;

/// <summary>
/// Called around the global transactions that declared endpoints begin (Seata's <c>TransactionHook</c>):
/// register implementations in DI (<c>services.AddSingleton&lt;IGlobalTransactionHook, MyHook&gt;()</c>);
/// they run in registration order. A hook that throws before begin or before commit stops the
/// transaction (the work is rolled back); one that throws after a decision is logged and ignored,
/// since the decision stands. Endpoints that only join a caller's transaction run no hooks: the
/// caller owns it.
/// </summary>
public interface IGlobalTransactionHook
{
    /// <summary>Before the coordinator is asked for an XID (<see cref="GlobalTransactionHookContext.Xid"/> is null).</summary>
    ValueTask BeforeBeginAsync(GlobalTransactionHookContext context) => ValueTask.CompletedTask;

    /// <summary>After the global transaction began.</summary>
    ValueTask AfterBeginAsync(GlobalTransactionHookContext context) => ValueTask.CompletedTask;

    /// <summary>Before the commit is asked for.</summary>
    ValueTask BeforeCommitAsync(GlobalTransactionHookContext context) => ValueTask.CompletedTask;

    /// <summary>After the coordinator decided commit.</summary>
    ValueTask AfterCommitAsync(GlobalTransactionHookContext context) => ValueTask.CompletedTask;

    /// <summary>Before the rollback is asked for (<see cref="GlobalTransactionHookContext.Exception"/> says why, when it was one).</summary>
    ValueTask BeforeRollbackAsync(GlobalTransactionHookContext context) => ValueTask.CompletedTask;

    /// <summary>After the coordinator rolled back.</summary>
    ValueTask AfterRollbackAsync(GlobalTransactionHookContext context) => ValueTask.CompletedTask;

    /// <summary>Last, whatever the outcome (also after a failed commit or rollback).</summary>
    ValueTask AfterCompletionAsync(GlobalTransactionHookContext context) => ValueTask.CompletedTask;
}
