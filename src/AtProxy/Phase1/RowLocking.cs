using System.Data.Common;
using AtProxy.Images;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;

namespace AtProxy.Phase1;

/// <summary>
/// Read isolation for <c>SELECT ... FOR UPDATE</c> inside a global transaction or a GlobalLock
/// scope: the rows are locked locally, then checked against the coordinator's global locks; while
/// another global transaction holds one, the local locks are given back (rollback to a savepoint,
/// so that transaction's phase-2 rollback is never blocked by us) and the read is tried again once
/// the row is released or a back-off is up, until the retries run out.
/// </summary>
internal static class RowLocking
{
    private const string Savepoint = "__atp_select_for_update";

    public static Task LockRowsAsync(GeneratedSql keysSql, StatementUnit unit, TableMetadata table, LocalTransactionBranch branch, CancellationToken cancellationToken)
    {
        var image = new ImageReader(branch.Connection, branch.Transaction, unit, branch.Resource.Dialect, table);
        var locks = branch.Runtime.Locks;
        return locks.AcquireAsync(branch.Resource.Id, branch.Owner, locks.DefaultRetries, "SELECT ... FOR UPDATE gave up waiting for it.", async ct =>
        {
            await branch.Connection.RunAsync(branch.Transaction, $"SAVEPOINT {Savepoint}", ct).ConfigureAwait(false);
            List<string[]> keys;
            try
            {
                keys = await image.ReadKeysAsync(keysSql, ct).ConfigureAwait(false);
            }
            catch (StaleMetadataException)
            {
                // The rows locked belong to another table than the one the keys would name: let go of them.
                await GiveBackAsync(branch, ct).ConfigureAwait(false);
                throw;
            }
            if (keys.Count == 0)
            {
                await branch.Connection.RunAsync(branch.Transaction, $"RELEASE SAVEPOINT {Savepoint}", ct).ConfigureAwait(false);
                return (true, (LockConflict?)null);
            }
            var request = new CheckLocksRequest { Xid = branch.Xid ?? "", ResourceId = branch.Resource.Id };
            request.LockKeys.AddRange(keys.Select(key => image.Dialect.LockKeyOf(table, key).ToLockKey()));
            var conflict = await locks.CheckOnceAsync(request, ct).ConfigureAwait(false);
            if (conflict is null)
            {
                await branch.Connection.RunAsync(branch.Transaction, $"RELEASE SAVEPOINT {Savepoint}", ct).ConfigureAwait(false);
                return (true, null);
            }
            // The local locks are given back: the wait holds none.
            await GiveBackAsync(branch, ct).ConfigureAwait(false);
            return (false, conflict);
        }, cancellationToken);
    }

    private static async Task GiveBackAsync(LocalTransactionBranch branch, CancellationToken cancellationToken)
    {
        await branch.Connection.RunAsync(branch.Transaction, $"ROLLBACK TO SAVEPOINT {Savepoint}", cancellationToken).ConfigureAwait(false);
        await branch.Connection.RunAsync(branch.Transaction, $"RELEASE SAVEPOINT {Savepoint}", cancellationToken).ConfigureAwait(false);
    }
}
