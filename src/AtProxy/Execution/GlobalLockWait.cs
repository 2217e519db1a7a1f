using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;

namespace AtProxy.Execution;

/// <summary>
/// Read isolation for <c>SELECT ... FOR UPDATE</c> inside a global transaction or a GlobalLock
/// scope: the rows are locked locally, then checked against the coordinator's global locks; while
/// another global transaction holds one, the local locks are given back (rollback to a savepoint,
/// so that transaction's phase-2 rollback is never blocked by us) and the read is tried again once
/// the row is released or a back-off is up, until the retries run out.
/// </summary>
internal static class GlobalLockWait
{
    private const string Savepoint = "__atp_select_for_update";

    public static async Task LockRowsAsync(DbConnection connection, DbTransaction transaction, GeneratedSql keysSql, StatementUnit unit, TableMetadata table, LocalBranch branch, CancellationToken cancellationToken)
    {
        var client = branch.Client;
        var options = client.Options;
        var backoff = new LockBackoff(client, branch.Resource.Id, branch.Xid);
        var image = new ImageReader(connection, transaction, unit, branch.Resource.Dialect, table);
        for (var attempt = 0; ; attempt++)
        {
            await ExecuteAsync(connection, transaction, $"SAVEPOINT {Savepoint}", cancellationToken);
            List<string[]> keys;
            try
            {
                keys = await image.ReadKeysAsync(keysSql, cancellationToken);
            }
            catch (StaleMetadataException)
            {
                // The rows locked belong to another table than the one the keys would name: let go of them.
                await ExecuteAsync(connection, transaction, $"ROLLBACK TO SAVEPOINT {Savepoint}", cancellationToken);
                await ExecuteAsync(connection, transaction, $"RELEASE SAVEPOINT {Savepoint}", cancellationToken);
                throw;
            }
            if (keys.Count == 0)
            {
                await ExecuteAsync(connection, transaction, $"RELEASE SAVEPOINT {Savepoint}", cancellationToken);
                return;
            }
            var request = new CheckLocksRequest { Xid = branch.Xid ?? "", ResourceId = branch.Resource.Id };
            request.LockKeys.AddRange(keys.Select(key => image.Dialect.LockKeyOf(table, key).ToLockKey()));
            var response = await client.Coordinator.CheckLocksAsync(request, cancellationToken);
            if (response.Lockable)
            {
                await ExecuteAsync(connection, transaction, $"RELEASE SAVEPOINT {Savepoint}", cancellationToken);
                return;
            }
            await ExecuteAsync(connection, transaction, $"ROLLBACK TO SAVEPOINT {Savepoint}", cancellationToken);
            await ExecuteAsync(connection, transaction, $"RELEASE SAVEPOINT {Savepoint}", cancellationToken);
            if (attempt >= options.LockRetryCount)
            {
                var conflict = response.Conflict;
                throw new GlobalLockConflictException(
                    $"Row {conflict?.Key?.Table}:{conflict?.Key?.PrimaryKey} is locked by global transaction {conflict?.HolderXid}; SELECT ... FOR UPDATE gave up waiting for it.",
                    conflict?.HolderXid ?? "", conflict?.Key?.Table, conflict?.Key?.PrimaryKey);
            }
            // The local locks are given back: the wait holds none.
            await backoff.WaitAsync(response.Conflict, cancellationToken);
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
