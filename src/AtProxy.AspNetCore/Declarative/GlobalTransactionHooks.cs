using Microsoft.Extensions.Logging;

namespace AtProxy.AspNetCore;

/// <summary>Runs the registered <see cref="IGlobalTransactionHook"/>s of one transaction, in registration order.</summary>
internal sealed class GlobalTransactionHooks(IGlobalTransactionHook[] hooks, GlobalTransactionHookContext context, ILogger logger)
{
    public GlobalTransactionHookContext Context => context;

    /// <summary>Runs a stage that may still stop the transaction: the first hook to throw ends it, and its exception propagates.</summary>
    public async Task RunAsync(Func<IGlobalTransactionHook, GlobalTransactionHookContext, ValueTask> stage)
    {
        foreach (var hook in hooks)
        {
            await stage(hook, context).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a stage after a decision: a hook that throws is logged, and the rest still run.</summary>
    public async Task RunAfterDecisionAsync(Func<IGlobalTransactionHook, GlobalTransactionHookContext, ValueTask> stage, string stageName)
    {
        foreach (var hook in hooks)
        {
            try
            {
                await stage(hook, context).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The decision stands whatever a hook does afterwards.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogWarning(ex, "The {Stage} hook {Hook} of global transaction {Xid} ({Name}) failed; the outcome stands.", stageName, hook.GetType().Name, context.Xid, context.Name);
            }
        }
    }
}
