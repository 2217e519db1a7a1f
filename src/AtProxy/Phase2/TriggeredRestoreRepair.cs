using System.Data.Common;
using AtProxy.Images;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;
using Npgsql;

namespace AtProxy.Phase2;

/// <summary>
/// A restored row that does not read back as the undo log says: a trigger on the table fired on the
/// restore and rewrote it (a <c>BEFORE UPDATE</c> that bumps a version or sets <c>updated_at</c>, an
/// <c>AFTER</c> trigger that writes the row again). Where the role may set
/// <c>session_replication_role</c>, the differing columns are written again with user triggers
/// suppressed: the first restore ran with every trigger and foreign key check, so only columns no
/// foreign key involves are put right this way. Otherwise the rollback stops, naming the triggers,
/// and reports the rollback failed rather than done with a row that differs.
/// </summary>
internal static class TriggeredRestoreRepair
{
    private const string Savepoint = "__atp_restore_repair";

    /// <summary>Returns null once every row is exact, else why the rollback stops (the caller rolls the local transaction back).</summary>
    public static async Task<string?> RepairAsync(ISqlDialect dialect, DbConnection connection, DbTransaction transaction, UndoRecord record, TableMetadata table,
        List<(RestoreStep Step, UndoRow? Found)> wrong, ImageForm form, CancellationToken cancellationToken)
    {
        if (wrong.Any(w => w.Step.Expected is null || w.Found is null))
        {
            var missing = wrong.First(w => w.Step.Expected is null || w.Found is null);
            return await StopAsync(dialect, connection, transaction, record, table, wrong,
                missing.Found is null ? "the restored row is missing" : "the row the rollback deleted is still there", cancellationToken).ConfigureAwait(false);
        }
        var differing = DifferingColumns(wrong, record.Columns);
        var foreignKeyColumns = await ReadStringsAsync(connection, transaction, dialect.BuildForeignKeyColumns(table), cancellationToken).ConfigureAwait(false);
        var involved = differing.Intersect(foreignKeyColumns, StringComparer.Ordinal).ToList();
        if (involved.Count > 0)
        {
            return await StopAsync(dialect, connection, transaction, record, table, wrong,
                $"column(s) {string.Join(", ", involved)} belong to a foreign key, which a restore with triggers suppressed would not check", cancellationToken).ConfigureAwait(false);
        }

        await connection.RunAsync(transaction, $"SAVEPOINT {Savepoint}", cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.RunAsync(transaction, dialect.SuppressUserTriggersSql, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            await connection.RunAsync(transaction, $"ROLLBACK TO SAVEPOINT {Savepoint}", cancellationToken).ConfigureAwait(false);
            return await StopAsync(dialect, connection, transaction, record, table, wrong,
                "this role may not suppress triggers for the restore: GRANT SET ON PARAMETER session_replication_role TO the resource's role " +
                "(PostgreSQL 15 and later; a superuser may already), then retry", cancellationToken).ConfigureAwait(false);
        }
        var steps = wrong.Select(w => w.Step).ToList();
        var again = steps.Select(s => dialect.BuildUpdateRow(table, s.Expected!)).OfType<GeneratedSql>().Append(new GeneratedSql(dialect.RestoreUserTriggersSql, []));
        var restored = await UndoRecordExecutor.RunAndReadBackAsync(dialect, connection, transaction, table, again, steps, form, cancellationToken).ConfigureAwait(false);
        var stillWrong = UndoRecordExecutor.Mismatches(steps, restored, record.Columns);
        if (stillWrong.Count > 0)
        {
            return await StopAsync(dialect, connection, transaction, record, table, stillWrong,
                "a trigger enabled ALWAYS (or REPLICA) rewrites it even with user triggers suppressed", cancellationToken).ConfigureAwait(false);
        }
        await connection.RunAsync(transaction, $"RELEASE SAVEPOINT {Savepoint}", cancellationToken).ConfigureAwait(false);
        return null;
    }

    private static async Task<string> StopAsync(ISqlDialect dialect, DbConnection connection, DbTransaction transaction, UndoRecord record, TableMetadata table,
        List<(RestoreStep Step, UndoRow? Found)> wrong, string why, CancellationToken cancellationToken)
    {
        // The transaction may be aborted when the stop comes from a failed statement; names are best effort then.
        IReadOnlyList<string> triggers;
        try
        {
            triggers = await ReadStringsAsync(connection, transaction, dialect.BuildTriggerList(table), cancellationToken).ConfigureAwait(false);
        }
        catch (DbException)
        {
            triggers = [];
        }
        var first = wrong[0];
        var columns = first.Found is null || first.Step.Expected is null ? "" : $" (columns {string.Join(", ", DifferingColumns([first], record.Columns))} differ)";
        // With no trigger on the table, something else keeps the value from reading back as it was printed.
        var cause = triggers.Count == 0
            ? "no trigger on the table explains it (a value whose text does not read back the same?)"
            : $"trigger(s) {string.Join(", ", triggers)} on {record.Schema}.{record.Table} rewrote it; {why}";
        return $"restore not exact: row {record.Schema}.{record.Table} [{string.Join(", ", record.PrimaryKey)}] = ({first.Step.Key}) " +
            $"does not read back as the undo log's image after the restore{columns}{(wrong.Count > 1 ? $", and {wrong.Count - 1} more row(s)" : "")}: " +
            $"{cause}. Nothing was changed; the branch waits for a person";
    }

    private static List<string> DifferingColumns(IEnumerable<(RestoreStep Step, UndoRow? Found)> wrong, IReadOnlyList<UndoColumn> columns)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (step, found) in wrong)
        {
            for (var i = 0; i < columns.Count && found is not null && step.Expected is not null; i++)
            {
                if (!RowImage.SameValues(Single(found, i), Single(step.Expected, i), [columns[i]]))
                {
                    names.Add(columns[i].Name);
                }
            }
        }
        return names.ToList();
    }

    private static UndoRow Single(UndoRow row, int index) => new() { Values = { row.Values[index] } };

    private static async Task<IReadOnlyList<string>> ReadStringsAsync(DbConnection connection, DbTransaction transaction, GeneratedSql sql, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Transaction = transaction;
        sql.Apply(command);
        var values = new List<string>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            values.Add(reader.GetString(0));
        }
        return values;
    }
}
