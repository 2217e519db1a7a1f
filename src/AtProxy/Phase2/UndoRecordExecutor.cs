using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Phase2;

/// <summary>
/// Undoes one statement's rows. Each row's current value decides: equal to the after image →
/// restore; already equal to the before image → nothing to do; anything else → a dirty write.
/// </summary>
internal static class UndoRecordExecutor
{
    /// <summary>Restores the record's rows; returns a description of the dirty write, or null when done.</summary>
    public static async Task<string?> UndoAsync(ISqlDialect dialect, DbConnection connection, DbTransaction transaction, UndoRecord record, CancellationToken cancellationToken)
    {
        var table = UndoRecordTable.TableOf(record);
        string KeyText(UndoRow row) => LockKeyFormatter.Format(dialect.KeyOf(table, row));

        var before = record.Before.ToDictionary(KeyText);
        var touched = record.Kind == UndoKind.Delete ? record.Before : record.After;
        if (touched.Count == 0)
        {
            return null;
        }
        var current = await ReadCurrentAsync(dialect, connection, transaction, table, touched, cancellationToken);

        // Rows are restored in reverse order too, mirroring how the statement applied them.
        for (var i = touched.Count - 1; i >= 0; i--)
        {
            var row = touched[i];
            var key = KeyText(row);
            current.TryGetValue(key, out var now);
            before.TryGetValue(key, out var was);
            var wasInserted = record.Kind == UndoKind.Insert || (record.Kind == UndoKind.Upsert && row.Inserted);

            if (record.Kind == UndoKind.Delete)
            {
                if (now is null)
                {
                    await RunAsync(connection, transaction, dialect.BuildInsertRow(table, row), cancellationToken);
                }
                else if (!RowImage.SameValues(now, row, record.Columns))
                {
                    return Dirty(record, key, "was deleted by the transaction but exists again with other values");
                }
                continue;
            }

            if (now is null)
            {
                if (wasInserted)
                {
                    continue; // already gone: nothing to undo
                }
                return Dirty(record, key, "was deleted outside the global transaction");
            }
            if (RowImage.SameValues(now, row, record.Columns))
            {
                if (wasInserted)
                {
                    await RunAsync(connection, transaction, dialect.BuildDeleteRow(table, row), cancellationToken);
                }
                else if (was is not null)
                {
                    await RunAsync(connection, transaction, dialect.BuildUpdateRow(table, was), cancellationToken);
                }
                continue;
            }
            if (was is not null && RowImage.SameValues(now, was, record.Columns))
            {
                continue; // already restored
            }
            return Dirty(record, key, "was changed outside the global transaction after phase 1");
        }
        return null;
    }

    private static string Dirty(UndoRecord record, string key, string what) =>
        $"dirty write: row {record.Schema}.{record.Table} [{string.Join(", ", record.PrimaryKey)}] = ({key}) {what}; data left untouched";

    // The rows' current values, locked, so nothing changes them between the check and the restore.
    private static async Task<Dictionary<string, UndoRow>> ReadCurrentAsync(ISqlDialect dialect, DbConnection connection, DbTransaction transaction, TableMetadata table, IReadOnlyList<UndoRow> rows, CancellationToken cancellationToken)
    {
        var current = new Dictionary<string, UndoRow>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        dialect.BuildDirtyCheck(table, rows.Select(row => dialect.KeyOf(table, row)).ToList()).Apply(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = RowImage.Read(reader, table.Columns.Count);
            current[LockKeyFormatter.Format(dialect.KeyOf(table, row))] = row;
        }
        return current;
    }

    private static async Task RunAsync(DbConnection connection, DbTransaction transaction, GeneratedSql? sql, CancellationToken cancellationToken)
    {
        if (sql is null)
        {
            return; // nothing writable to put back
        }
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        sql.Apply(command);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
