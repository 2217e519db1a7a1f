using System.Data.Common;
using AtProxy.Images;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Phase2;

/// <summary>
/// Undoes one statement's rows. Each row's current value decides: equal to the after image →
/// restore; already equal to the before image → nothing to do; anything else → a dirty write.
/// The restores run in one round trip with a read-back of the restored rows: a row that does not
/// end up exactly as the undo log says (a trigger rewrote it) is put right with triggers suppressed
/// where the role may, else the rollback stops for a person (<see cref="TriggeredRestoreRepair"/>).
/// </summary>
internal static class UndoRecordExecutor
{
    /// <summary>
    /// Restores the record's rows; returns why it stopped (a dirty write, a row it cannot restore exactly), or null when done.
    /// The rows' current values are read (and locked) first, unless <c>checkedRows</c> holds them as
    /// <see cref="BuildRowCheck"/> read them earlier in this transaction.
    /// </summary>
    public static async Task<string?> UndoAsync(ISqlDialect dialect, DbConnection connection, DbTransaction transaction, UndoRecord record, ImageForm form,
        CancellationToken cancellationToken, Dictionary<string, UndoRow>? checkedRows = null)
    {
        var table = UndoRecordTable.TableOf(record);
        string KeyText(UndoRow row) => LockKeyFormatter.Format(dialect.KeyOf(table, row));

        var before = record.Before.ToDictionary(KeyText);
        var touched = TouchedRows(record);
        if (touched.Count == 0)
        {
            return null;
        }
        var current = checkedRows ?? await ReadAsync(dialect, connection, transaction, table, touched, form, cancellationToken).ConfigureAwait(false);

        // Every row is checked before any is written; rows are restored in reverse order, mirroring how
        // the statement applied them.
        var steps = new List<RestoreStep>();
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
                    steps.Add(new RestoreStep(key, row, row, dialect.BuildInsertRow(table, row)));
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
                    steps.Add(new RestoreStep(key, row, null, dialect.BuildDeleteRow(table, row)));
                }
                else if (was is not null && dialect.BuildUpdateRow(table, was) is { } update)
                {
                    steps.Add(new RestoreStep(key, was, was, update));
                }
                continue;
            }
            if (was is not null && RowImage.SameValues(now, was, record.Columns))
            {
                continue; // already restored
            }
            return Dirty(record, key, "was changed outside the global transaction after phase 1");
        }
        if (steps.Count == 0)
        {
            return null;
        }

        var restored = await RunAndReadBackAsync(dialect, connection, transaction, table, steps.Select(s => s.Sql), steps, form, cancellationToken).ConfigureAwait(false);
        var wrong = Mismatches(steps, restored, record.Columns);
        return wrong.Count == 0
            ? null
            : await TriggeredRestoreRepair.RepairAsync(dialect, connection, transaction, record, table, wrong, form, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The statement that reads the current values of the rows the record touched and locks them, for a caller
    /// that sends it in an earlier round trip of the same transaction; null when the record touched no row.
    /// Read its result with <see cref="ReadRowCheckAsync"/> and pass that to <see cref="UndoAsync"/>.
    /// </summary>
    public static GeneratedSql? BuildRowCheck(ISqlDialect dialect, UndoRecord record, ImageForm form)
    {
        var touched = TouchedRows(record);
        if (touched.Count == 0)
        {
            return null;
        }
        var table = UndoRecordTable.TableOf(record);
        return dialect.BuildDirtyCheck(table, touched.Select(row => dialect.KeyOf(table, row)).ToList(), form);
    }

    /// <summary>The rows of a <see cref="BuildRowCheck"/> result the reader is on, by key text.</summary>
    public static Task<Dictionary<string, UndoRow>> ReadRowCheckAsync(ISqlDialect dialect, DbDataReader reader, UndoRecord record, ImageForm form, CancellationToken cancellationToken) =>
        ReadRowsAsync(dialect, reader, UndoRecordTable.TableOf(record), form, cancellationToken);

    // A delete's rows are gone, so its before images say which rows to check; every other kind's after images do.
    private static IReadOnlyList<UndoRow> TouchedRows(UndoRecord record) => record.Kind == UndoKind.Delete ? record.Before : record.After;

    private static string Dirty(UndoRecord record, string key, string what) =>
        $"dirty write: row {record.Schema}.{record.Table} [{string.Join(", ", record.PrimaryKey)}] = ({key}) {what}; data left untouched";

    /// <summary>The steps whose row is not as expected after the restore, with what the table holds instead.</summary>
    public static List<(RestoreStep Step, UndoRow? Found)> Mismatches(IReadOnlyList<RestoreStep> steps, Dictionary<string, UndoRow> restored, IReadOnlyList<UndoColumn> columns)
    {
        var wrong = new List<(RestoreStep, UndoRow?)>();
        foreach (var step in steps)
        {
            restored.TryGetValue(step.Key, out var found);
            var exact = step.Expected is null ? found is null : found is not null && RowImage.SameValues(found, step.Expected, columns);
            if (!exact)
            {
                wrong.Add((step, found));
            }
        }
        return wrong;
    }

    /// <summary>
    /// Runs the restore statements and reads the restored rows back, by key, in one round trip.
    /// </summary>
    public static async Task<Dictionary<string, UndoRow>> RunAndReadBackAsync(ISqlDialect dialect, DbConnection connection, DbTransaction transaction, TableMetadata table,
        IEnumerable<GeneratedSql> statements, IReadOnlyList<RestoreStep> steps, ImageForm form, CancellationToken cancellationToken)
    {
        var batch = connection.CreateBatch();
        await using var batchDisposal = batch.ConfigureAwait(false);
        batch.Transaction = transaction;
        foreach (var sql in statements)
        {
            var command = batch.CreateBatchCommand();
            sql.Apply(command);
            batch.BatchCommands.Add(command);
        }
        var readBack = batch.CreateBatchCommand();
        dialect.BuildDirtyCheck(table, steps.Select(s => dialect.KeyOf(table, s.KeyRow)).ToList(), form).Apply(readBack);
        batch.BatchCommands.Add(readBack);
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        // The restore statements return no rows; the read-back is the one result that has columns.
        while (reader.FieldCount == 0 && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
        }
        return await ReadRowsAsync(dialect, reader, table, form, cancellationToken).ConfigureAwait(false);
    }

    // The rows' current values, locked, so nothing changes them between the check and the restore.
    private static async Task<Dictionary<string, UndoRow>> ReadAsync(ISqlDialect dialect, DbConnection connection, DbTransaction transaction, TableMetadata table, IReadOnlyList<UndoRow> rows, ImageForm form, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Transaction = transaction;
        dialect.BuildDirtyCheck(table, rows.Select(row => dialect.KeyOf(table, row)).ToList(), form).Apply(command);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        return await ReadRowsAsync(dialect, reader, table, form, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Dictionary<string, UndoRow>> ReadRowsAsync(ISqlDialect dialect, DbDataReader reader, TableMetadata table, ImageForm form, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, UndoRow>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var row = RowImage.Read(reader, table.Columns.Count, form);
            rows[LockKeyFormatter.Format(dialect.KeyOf(table, row))] = row;
        }
        return rows;
    }
}

/// <summary>One row a rollback writes back.</summary>
/// <param name="Key">The row's key text (<see cref="LockKeyFormatter.Format"/>).</param>
/// <param name="KeyRow">A full row holding the key.</param>
/// <param name="Expected">The row as it must be after the restore; null when it must be gone.</param>
/// <param name="Sql">The restore statement.</param>
internal sealed record RestoreStep(string Key, UndoRow KeyRow, UndoRow? Expected, GeneratedSql Sql);
