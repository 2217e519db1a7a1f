using System.Data.Common;
using AtProxy.Protocol.Undo;
using static AtProxy.Protocol.Undo.UndoLogTables.Columns;

namespace AtProxy.Undo;

/// <summary>One undo row the purge considers: its key, its status and where the scan stands.</summary>
internal readonly record struct UndoPurgeCandidate(string Xid, long BranchId, UndoLogStatus Status, DateTime Created);

/// <summary>
/// The purge's statements on <c>atproxy_undo_log</c>. Ages are measured by the database's clock
/// (<c>now()</c>), like <c>log_created</c> and <c>log_modified</c>, so the application's clock never matters.
/// </summary>
internal static class UndoLogPurgeSql
{
    /// <summary>
    /// Up to <paramref name="limit"/> markers and undo rows created more than <paramref name="age"/>
    /// ago, in (log_created, xid, branch_id) order after <paramref name="after"/> (from the start when
    /// null). A range scan of the log_created index: nothing to read when nothing is that old.
    /// </summary>
    public static async Task<List<UndoPurgeCandidate>> FindFinishedCandidatesAsync(
        this UndoLogTable table, DbConnection connection, TimeSpan age, UndoPurgeCandidate? after, int limit, CancellationToken cancellationToken)
    {
        var select = connection.CreateCommand();
        await using var selectDisposal = select.ConfigureAwait(false);
        var resume = after is null ? "" : $"AND {LogCreated} >= @c AND ({LogCreated}, {Xid}, {BranchId}) > (@c, @x, @b) ";
        select.CommandText = $"SELECT {Xid}, {BranchId}, {LogStatus}, {LogCreated} FROM {table.QualifiedName} " +
            $"WHERE {LogStatus} IN ({(int)UndoLogStatus.Normal}, {(int)UndoLogStatus.GlobalFinished}) AND {LogCreated} < now() - @age " + resume +
            $"ORDER BY {LogCreated}, {Xid}, {BranchId} LIMIT @n";
        UndoLogTable.AddParameter(select, "age", age);
        UndoLogTable.AddParameter(select, "n", limit);
        if (after is { } cursor)
        {
            UndoLogTable.AddParameter(select, "c", cursor.Created);
            UndoLogTable.AddParameter(select, "x", cursor.Xid);
            UndoLogTable.AddParameter(select, "b", cursor.BranchId);
        }
        var candidates = new List<UndoPurgeCandidate>();
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            candidates.Add(new UndoPurgeCandidate(reader.GetString(0), reader.GetInt64(1), (UndoLogStatus)reader.GetInt32(2), reader.GetDateTime(3)));
        }
        return candidates;
    }

    /// <summary>
    /// Deletes the given rows in one statement, each only while it still has the status it was
    /// judged by.
    /// </summary>
    public static async Task<int> DeleteCandidatesAsync(this UndoLogTable table, DbConnection connection, IReadOnlyList<UndoPurgeCandidate> rows, CancellationToken cancellationToken)
    {
        var delete = connection.CreateCommand();
        await using var deleteDisposal = delete.ConfigureAwait(false);
        delete.CommandText = $"DELETE FROM {table.QualifiedName} WHERE ({Xid}, {BranchId}, {LogStatus}) IN " +
            "(SELECT * FROM unnest(@xids::varchar[], @bids::bigint[], @statuses::integer[]))";
        UndoLogTable.AddParameter(delete, "xids", rows.Select(r => r.Xid).ToArray());
        UndoLogTable.AddParameter(delete, "bids", rows.Select(r => r.BranchId).ToArray());
        UndoLogTable.AddParameter(delete, "statuses", rows.Select(r => (int)r.Status).ToArray());
        return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes up to <paramref name="limit"/> rows marked <see cref="UndoLogStatus.Committed"/> more
    /// than <paramref name="age"/> ago, oldest first, in one statement (the partial index on
    /// log_modified holds only those rows). No coordinator call: a committed mark is written only
    /// on the coordinator's phase-2 commit command.
    /// </summary>
    public static async Task<int> DeleteExpiredCommittedAsync(this UndoLogTable table, DbConnection connection, TimeSpan age, int limit, CancellationToken cancellationToken)
    {
        var delete = connection.CreateCommand();
        await using var deleteDisposal = delete.ConfigureAwait(false);
        var committed = (int)UndoLogStatus.Committed;
        delete.CommandText = $"DELETE FROM {table.QualifiedName} WHERE {LogStatus} = {committed} AND ({Xid}, {BranchId}) IN " +
            $"(SELECT {Xid}, {BranchId} FROM {table.QualifiedName} WHERE {LogStatus} = {committed} AND {LogModified} < now() - @age ORDER BY {LogModified} LIMIT @n)";
        UndoLogTable.AddParameter(delete, "age", age);
        UndoLogTable.AddParameter(delete, "n", limit);
        return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
