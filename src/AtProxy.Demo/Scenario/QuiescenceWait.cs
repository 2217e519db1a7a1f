using System.Diagnostics;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.Demo.Scenario;

/// <summary>
/// Waits, for a bounded time, until the run has settled: the inventory service finished its late
/// (slow) requests and, with AtProxy, phase 2 is done everywhere (no undo rows, no global locks,
/// no undecided transaction).
/// </summary>
internal sealed class QuiescenceWait(DemoEnvironment environment)
{
    private long _lastUndoRecords = -1;
    private DateTime _undoUnchangedSince = DateTime.UtcNow;

    /// <summary>Waits up to <paramref name="limit"/>; returns how long it waited and whether everything settled.</summary>
    public async Task<(TimeSpan Waited, bool Settled)> WaitAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (await IsSettledAsync(cancellationToken))
            {
                return (clock.Elapsed, true);
            }
            await Task.Delay(200, cancellationToken);
        }
        return (clock.Elapsed, false);
    }

    private async Task<bool> IsSettledAsync(CancellationToken cancellationToken)
    {
        if (await environment.InventoryRequestsInFlightAsync(cancellationToken) > 0)
        {
            return false;
        }
        if (environment.Coordinator is not { } coordinator)
        {
            return true;
        }
        var locks = await coordinator.Admin.ListLocksAsync(new ListLocksRequest { PageSize = 1 }, cancellationToken: cancellationToken);
        if (locks.Locks.Count > 0 || (await UnfinishedTransactionsAsync(coordinator.Admin, cancellationToken)).Count > 0)
        {
            return false;
        }
        // Committed branches' undo records are deleted in the background; wait until that stops changing.
        var undo = await UndoRecordsAsync(environment.OrdersConnectionString) + await UndoRecordsAsync(environment.InventoryConnectionString);
        if (undo == 0)
        {
            return true;
        }
        if (undo != _lastUndoRecords)
        {
            _lastUndoRecords = undo;
            _undoUnchangedSince = DateTime.UtcNow;
        }
        return DateTime.UtcNow - _undoUnchangedSince > TimeSpan.FromSeconds(3);
    }

    /// <summary>The undo records (not markers) in a database's <c>atproxy_undo_log</c> (0 when the table was never created).</summary>
    private static async Task<long> UndoRecordsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<bool>($"SELECT to_regclass('{UndoLogTables.UndoLog}') IS NOT NULL")
            ? await connection.ExecuteScalarAsync<long>(
                $"SELECT count(*) FROM {UndoLogTables.UndoLog} WHERE {UndoLogTables.Columns.LogStatus} = {(int)UndoLogStatus.Normal}")
            : 0;
    }

    /// <summary>Global transactions the coordinator has not finished yet.</summary>
    public static async Task<IReadOnlyList<GlobalTransactionInfo>> UnfinishedTransactionsAsync(Admin.AdminClient admin, CancellationToken cancellationToken)
    {
        var request = new ListTransactionsRequest { PageSize = 100 };
        request.Statuses.AddRange(
        [
            GlobalStatus.Begin, GlobalStatus.Committing, GlobalStatus.CommitRetrying, GlobalStatus.AsyncCommitting,
            GlobalStatus.Rollbacking, GlobalStatus.RollbackRetrying, GlobalStatus.TimeoutRollbacking, GlobalStatus.TimeoutRollbackRetrying,
            GlobalStatus.CommitFailed, GlobalStatus.RollbackFailed, GlobalStatus.CommitRetryTimeout, GlobalStatus.RollbackRetryTimeout,
        ]);
        var response = await admin.ListTransactionsAsync(request, cancellationToken: cancellationToken);
        return response.Transactions;
    }
}
