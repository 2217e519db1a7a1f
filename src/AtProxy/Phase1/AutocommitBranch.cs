using System.Data.Common;
using System.Runtime.ExceptionServices;
using AtProxy.Protocol.V1;
using AtProxy.Resources;
using AtProxy.Transactions;

namespace AtProxy.Phase1;

/// <summary>
/// An autocommit statement in a global transaction (or GlobalLock scope) is a local transaction and
/// branch of its own. On a lock conflict it waits once, briefly, for the release; if the lock is still
/// held the local transaction is rolled back before waiting longer (so the holder's phase-2 rollback
/// is never blocked by our row locks for more than that first step) and the statement runs again.
/// </summary>
internal static class AutocommitBranch
{
    public static async Task<ExecutionResult> RunAsync(AtProxyRuntime runtime, DbConnection connection, Resource resource, AmbientTransaction owner,
        StatementPlan plan, CancellationToken cancellationToken)
    {
        GlobalLockConflictException? last = null;
        try
        {
            return await runtime.Locks.AcquireAsync<ExecutionResult>(resource.Id, owner, runtime.Locks.DefaultRetries, "",
                async ct =>
                {
                    try
                    {
                        return (await RunOnceAsync(runtime, connection, resource, owner, plan, ct).ConfigureAwait(false), null);
                    }
                    catch (GlobalLockConflictException conflict)
                    {
                        // Our local transaction is rolled back already: the wait holds no row locks.
                        last = conflict;
                        return (null!, (LockConflict?)GlobalLockGate.ConflictOf(conflict, resource.Id));
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (GlobalLockConflictException) when (last is not null)
        {
            // The last attempt's own exception says best where it gave up (registration, FOR UPDATE).
            ExceptionDispatchInfo.Capture(last).Throw();
            throw;
        }
    }

    private static async Task<ExecutionResult> RunOnceAsync(AtProxyRuntime runtime, DbConnection connection, Resource resource, AmbientTransaction owner,
        StatementPlan plan, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var branch = new LocalTransactionBranch(runtime, connection, transaction, owner, resource);
            var result = await branch.RunAsync(plan, cancellationToken).ConfigureAwait(false);
            if (branch.IsEmpty)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // One short wait with our row locks held: the holder usually only waits for its
                // commit decision, which needs none of our rows, and running the statement again
                // costs more. A holder rolling back needs them, so the wait stays one back-off step.
                await branch.CommitAsync(cancellationToken, lockRetries: 1).ConfigureAwait(false);
            }
            return result;
        }
    }
}
