using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Undo;

namespace AtProxy.Execution;

/// <summary>
/// Read isolation for <c>SELECT ... FOR UPDATE</c> inside a global transaction or a GlobalLock
/// scope: the rows are locked locally, then checked against the coordinator's global locks; while
/// another global transaction holds one, the local locks are given back (rollback to a savepoint,
/// so that transaction's phase-2 rollback is never blocked by us) and the read is tried again after
/// a back-off, until the retries run out.
/// </summary>
internal static class GlobalLockWait
{
    private const string Savepoint = "__atp_select_for_update";

    public static async Task LockRowsAsync(DbConnection connection, DbTransaction transaction, string keysSql, StatementUnit unit, TableMetadata table, LocalBranch branch, CancellationToken cancellationToken)
    {
        var client = branch.Client;
        var options = client.Options;
        var delay = options.LockRetryInterval;
        for (var attempt = 0; ; attempt++)
        {
            await ExecuteAsync(connection, transaction, $"SAVEPOINT {Savepoint}", cancellationToken);
            var keys = await ReadKeysAsync(connection, transaction, keysSql, unit, table, cancellationToken);
            if (keys.Count == 0)
            {
                await ExecuteAsync(connection, transaction, $"RELEASE SAVEPOINT {Savepoint}", cancellationToken);
                return;
            }
            var request = new CheckLocksRequest { Xid = branch.Xid ?? "", ResourceId = branch.Resource.Id };
            request.LockKeys.AddRange(keys);
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
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, options.LockRetryMaxInterval.TotalMilliseconds));
        }
    }

    private static async Task<List<LockKey>> ReadKeysAsync(DbConnection connection, DbTransaction transaction, string sql, StatementUnit unit, TableMetadata table, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = unit.CommandTimeout;
        ParameterCopier.CopyAll(unit.Parameters, command);
        var keys = new List<LockKey>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var indexes = Enumerable.Range(0, table.PrimaryKey.Count).ToArray();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new UndoRow();
            for (var i = 0; i < table.PrimaryKey.Count; i++)
            {
                row.Values.Add(RowImage.Value(reader.IsDBNull(i) ? null : reader.GetString(i)));
            }
            var key = RowImage.PrimaryKeyText(row, indexes);
            if (seen.Add(key))
            {
                keys.Add(new LockKey { Table = table.CanonicalName, PrimaryKey = key });
            }
        }
        return keys;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
