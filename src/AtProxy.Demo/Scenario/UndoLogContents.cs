using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using Dapper;
using Grpc.Core;
using Npgsql;

namespace AtProxy.Demo.Scenario;

/// <summary>
/// What is left in both databases' <c>atproxy_undo_log</c>, sorted by what it means.
/// </summary>
/// <param name="Pending">Undo records of transactions that are not committed: their rollback has not finished (a failure once the run settled).</param>
/// <param name="OfCommitted">
/// Undo records of committed transactions: garbage. The resource manager acknowledges a phase-2
/// commit at once and deletes the records in the background, so a service killed in between
/// leaves them behind.
/// </param>
/// <param name="Markers">
/// "Global finished" markers: a rollback found no undo records yet and left a row so that a late
/// phase-1 commit of the same branch fails. Expected after timeouts and the kill.
/// </param>
internal sealed record UndoLogContents(int Pending, int OfCommitted, int Markers)
{
    /// <summary>Reads both databases and asks the coordinator about each record's transaction.</summary>
    public static async Task<UndoLogContents> ReadAsync(DemoEnvironment environment, CancellationToken cancellationToken)
    {
        var rows = new List<(string Xid, UndoLogStatus Status)>();
        foreach (var connectionString in new[] { environment.OrdersConnectionString, environment.InventoryConnectionString })
        {
            await using var connection = new NpgsqlConnection(connectionString);
            if (await connection.ExecuteScalarAsync<bool>($"SELECT to_regclass('{UndoLogTables.UndoLog}') IS NOT NULL"))
            {
                var read = await connection.QueryAsync<(string, int)>(
                    $"SELECT {UndoLogTables.Columns.Xid}, {UndoLogTables.Columns.LogStatus} FROM {UndoLogTables.UndoLog}");
                rows.AddRange(read.Select(r => (r.Item1, (UndoLogStatus)r.Item2)));
            }
        }
        var markers = rows.Count(r => r.Status == UndoLogStatus.GlobalFinished);
        var ofCommitted = 0;
        var pending = 0;
        foreach (var (xid, _) in rows.Where(r => r.Status != UndoLogStatus.GlobalFinished))
        {
            if (environment.Coordinator is { } coordinator && await IsCommittedAsync(coordinator.Admin, xid, cancellationToken))
            {
                ofCommitted++;
            }
            else
            {
                pending++;
            }
        }
        return new UndoLogContents(pending, ofCommitted, markers);
    }

    private static async Task<bool> IsCommittedAsync(Admin.AdminClient admin, string xid, CancellationToken cancellationToken)
    {
        try
        {
            var response = await admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid }, cancellationToken: cancellationToken);
            return response.Transaction.Status is GlobalStatus.Committed or GlobalStatus.AsyncCommitting or GlobalStatus.Committing;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }
}
