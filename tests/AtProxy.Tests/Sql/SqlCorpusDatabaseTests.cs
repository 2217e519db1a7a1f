using System.Text.RegularExpressions;
using AtProxy.Images;
using AtProxy.Protocol.Undo;
using AtProxy.Metadata;
using AtProxy.Phase2;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;
using Npgsql;
using NpgsqlTypes;

namespace AtProxy.Tests.Sql;

/// <summary>
/// Runs every corpus statement on a real PostgreSQL the way the proxy does: metadata check, before
/// image, the statement itself (returning its keys), after image, dirty check, lock keys and the
/// undo statements, which must put the table back exactly as it was, each one alone and through
/// the rollback's own executor. Images are text forms, as the undo log stores them. Any generated
/// statement PostgreSQL rejects fails the case. Each case runs in a transaction that is rolled back.
/// </summary>
public class SqlCorpusDatabaseTests(CorpusDatabaseFixture fixture) : IClassFixture<CorpusDatabaseFixture>
{
    private static readonly PostgresDialect Dialect = TestDialect.Public;

    public static TheoryData<string, string> Cases => CorpusFile.CaseIds();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Generated_sql_runs_on_postgres_and_undo_restores_the_rows(string file, string name)
    {
        var corpusCase = CorpusFile.Get(file, name);
        var command = SqlRecognizer.RecognizeUncached(corpusCase.Sql);
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var refusals = new List<string>();
        foreach (var statement in command.Statements)
        {
            if (statement.Unsupported is not null || statement.Kind == DmlKind.PassThrough)
            {
                continue; // refused by the recognizer (asserted by the model) or nothing to image
            }
            var table = await CatalogReader.LoadAsync(connection, statement.Target!, transaction);
            try
            {
                Dialect.EnsureSupported(statement, table);
            }
            catch (AtProxyNotSupportedException e)
            {
                refusals.Add(e.Message);
                continue;
            }
            var run = new StatementRun(connection, transaction, corpusCase, statement, table);
            if (statement.Kind == DmlKind.SelectForUpdate)
            {
                await run.LockingReadAsync();
            }
            else
            {
                await run.WriteAsync();
            }
        }
        Assert.Equal(corpusCase.Refused, refusals.Count == 0 ? null : string.Join("\n", refusals));
        await transaction.RollbackAsync();
    }

    private sealed class StatementRun(NpgsqlConnection connection, NpgsqlTransaction transaction, CorpusCase corpusCase, DmlStatement statement, TableMetadata table)
    {
        public async Task WriteAsync()
        {
            var snapshot = await SnapshotAsync();
            IReadOnlyList<UndoRow> before = [];
            IReadOnlyList<string>? constraintColumns = statement.OnConflict?.ConstraintName is { } constraint
                ? await ConstraintColumnsAsync(constraint)
                : null;
            if (Dialect.BuildBeforeImage(statement, table, constraintColumns) is { } beforeImage)
            {
                Assert.Contains("FOR UPDATE", beforeImage.Text, StringComparison.Ordinal);
                // A join can return one target row several times; the image holds it once.
                before = (await QueryRowsAsync(beforeImage)).DistinctBy(KeyText).ToList();
            }

            var imageReturning = Dialect.BuildImageReturning(statement, table);
            var returned = await QueryUserAsync(imageReturning.Text);
            var hidden = returned.Select(row => row.Skip(row.Count - imageReturning.HiddenColumnCount).ToArray()).ToList();
            Assert.Equal(statement.Kind != DmlKind.Delete, imageReturning.ReturnsRows);
            var images = hidden.Select(h => RecordText.Split((string)h[0]!, imageReturning.ImageColumnCount)).ToList();
            var returnedRows = imageReturning.ReturnsRows ? images.Select(values => Row(values)).DistinctBy(KeyText).ToList() : [];
            var keys = (imageReturning.ReturnsRows ? returnedRows.Select(row => Dialect.KeyOf(table, row)) : images.Select(k => (IReadOnlyList<string>)k.Cast<string>().ToArray()))
                .DistinctBy(LockKeyFormatter.Format).ToList();
            var inserted = hidden.Zip(images).Where(h => !imageReturning.HasInsertedFlag || h.First[^1] is true)
                .Select(h => imageReturning.ReturnsRows ? KeyText(Row(h.Second)) : LockKeyFormatter.Format(h.Second.Cast<string>().ToArray())).ToHashSet();

            // The after image is what the statement returned; read back by key it is the same.
            var after = returnedRows;
            var readBack = keys.Count == 0 || !imageReturning.ReturnsRows ? [] : await QueryRowsAsync(Dialect.BuildDirtyCheck(table, keys));
            Assert.Equal(ByKey(readBack), ByKey(after));
            if (statement.Kind is DmlKind.Update or DmlKind.Delete)
            {
                // The before image must have locked exactly the rows the statement then changed.
                Assert.Equal(KeyTexts(keys), KeyTexts(before.Select(row => Dialect.KeyOf(table, row))));
            }
            if (keys.Count > 0)
            {
                var dirty = await QueryRowsAsync(Dialect.BuildDirtyCheck(table, keys));
                Assert.Equal(ByKey(after), ByKey(dirty));
            }

            var lockKeys = Dialect.BuildLockKeys(table, [.. before, .. after]);
            Assert.All(lockKeys, key => Assert.Equal(table.CanonicalName, key.Table));
            Assert.Equal(KeyTexts([.. before.Select(row => Dialect.KeyOf(table, row)), .. keys]), lockKeys.Select(k => k.PrimaryKey).Order(StringComparer.Ordinal));

            var record = UndoRecordTable.NewRecord(table, UndoKindOf(statement));
            record.Before.AddRange(before);
            foreach (var row in after)
            {
                row.Inserted = inserted.Contains(KeyText(row));
                record.After.Add(row);
            }

            // Each undo statement alone: it writes exactly its one row, and together they restore the table.
            await ExecuteAsync("SAVEPOINT undo_statements");
            foreach (var undo in UndoStatements(record))
            {
                await using var undoCommand = Generated(undo);
                Assert.Equal(1, await undoCommand.ExecuteNonQueryAsync());
            }
            Assert.Equal(snapshot, await SnapshotAsync());
            await ExecuteAsync("ROLLBACK TO SAVEPOINT undo_statements");

            // The rollback's executor (dirty check, then the same statements) restores it too, and a
            // second run finds every row already restored.
            Assert.Null(await UndoRecordExecutor.UndoAsync(Dialect, connection, transaction, record, AtProxy.Images.ImageForm.Canonical, CancellationToken.None));
            Assert.Equal(snapshot, await SnapshotAsync());
            Assert.Null(await UndoRecordExecutor.UndoAsync(Dialect, connection, transaction, record, AtProxy.Images.ImageForm.Canonical, CancellationToken.None));
            Assert.Equal(snapshot, await SnapshotAsync());
        }

        private static UndoRow Row(string?[] values)
        {
            var row = new UndoRow();
            row.Values.AddRange(values.Select(RowImage.Value));
            return row;
        }

        public async Task LockingReadAsync()
        {
            var lockQuery = Dialect.BuildLockedKeys(statement, table);
            Assert.Contains("FOR ", lockQuery.Text, StringComparison.OrdinalIgnoreCase);
            var locked = await QueryAsync(lockQuery);
            var read = await QueryUserAsync(statement.Text);
            Assert.Equal(read.Count, locked.Count);
            var lockKeys = locked.Select(key => Dialect.LockKeyOf(table, RecordText.Split((string)key[0]!, table.PrimaryKey.Count)!)).ToList();
            Assert.Equal(locked.Count, lockKeys.Count);
            Assert.All(lockKeys, key => Assert.Equal(table.CanonicalName, key.Table));
        }

        // What the rollback runs when every row still holds the statement's values: undo of an
        // insert deletes, of a delete inserts, of an update (or an upsert's update) sets back.
        private IEnumerable<GeneratedSql> UndoStatements(UndoRecord record)
        {
            var beforeByKey = record.Before.ToDictionary(KeyText);
            if (record.Kind == UndoKind.Delete)
            {
                return record.Before.Select(row => Dialect.BuildInsertRow(table, row));
            }
            return record.After.Select(row => record.Kind == UndoKind.Insert || (record.Kind == UndoKind.Upsert && row.Inserted)
                    ? Dialect.BuildDeleteRow(table, row)
                    : Dialect.BuildUpdateRow(table, beforeByKey[KeyText(row)]))
                .OfType<GeneratedSql>();
        }

        private static UndoKind UndoKindOf(DmlStatement statement) => statement.Kind switch
        {
            DmlKind.Insert => UndoKind.Insert,
            DmlKind.Update => UndoKind.Update,
            DmlKind.Delete => UndoKind.Delete,
            _ => statement.OnConflict!.Action == ConflictAction.DoNothing ? UndoKind.Insert : UndoKind.Upsert,
        };

        private async Task<IReadOnlyList<string>> ConstraintColumnsAsync(string constraint)
        {
            var names = await QueryAsync(Dialect.BuildConstraintColumns(table, constraint));
            return names.Select(row => (string)row[0]!).ToList();
        }

        private async Task ExecuteAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await command.ExecuteNonQueryAsync();
        }

        private async Task<List<string>> SnapshotAsync()
        {
            await using var command = new NpgsqlCommand($"SELECT t::text FROM {Dialect.QuoteTable(table)} t ORDER BY 1", connection, transaction);
            var rows = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }
            return rows;
        }

        private async Task<IReadOnlyList<UndoRow>> QueryRowsAsync(GeneratedSql sql)
        {
            await using var command = Generated(sql);
            var rows = new List<UndoRow>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Assert.Equal(1, reader.FieldCount);
                rows.Add(RowImage.ReadRecord(reader, 0, table.Columns.Count));
            }
            return rows;
        }

        private async Task<IReadOnlyList<IReadOnlyList<object?>>> QueryAsync(GeneratedSql sql)
        {
            await using var command = Generated(sql);
            return await ReadAllAsync(command);
        }

        private async Task<IReadOnlyList<IReadOnlyList<object?>>> QueryUserAsync(string text)
        {
            await using var command = new NpgsqlCommand(text, connection, transaction);
            BindUserParameters(command, text);
            return await ReadAllAsync(command);
        }

        // Bound as the proxy binds them: the user's parameters when the text splices theirs, then the generated ones.
        private NpgsqlCommand Generated(GeneratedSql sql)
        {
            var command = new NpgsqlCommand(sql.Text, connection, transaction);
            if (sql.BindsUserParameters)
            {
                BindUserParameters(command, sql.Text);
            }
            Assert.All(sql.Parameters, parameter => Assert.StartsWith(GeneratedSql.ParameterPrefix, parameter.Name, StringComparison.Ordinal));
            sql.Apply(command);
            return command;
        }

        // The corpus gives values as text; bound as 'unknown' they take the type PostgreSQL infers
        // from where they are used, as a typed application parameter would.
        private void BindUserParameters(NpgsqlCommand command, string text)
        {
            var positional = statement.Parameters.Where(p => p.Style == SqlParameterStyle.Positional).ToList();
            if (positional.Count > 0)
            {
                for (var i = 1; i <= positional.Max(p => p.Position); i++)
                {
                    var referenced = Regex.IsMatch(text, @"\$" + i + @"(?![0-9])");
                    command.Parameters.Add(new NpgsqlParameter
                    {
                        Value = corpusCase.Parameters.GetValueOrDefault("$" + i, "1"),
                        NpgsqlDbType = referenced ? NpgsqlDbType.Unknown : NpgsqlDbType.Text,
                    });
                }
                return;
            }
            foreach (var name in statement.Parameters.Select(p => p.Name).Distinct())
            {
                if (Regex.IsMatch(text, "[@:]" + Regex.Escape(name) + @"(?![A-Za-z0-9_])"))
                {
                    command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Unknown) { Value = corpusCase.Parameters.GetValueOrDefault(name, "1") });
                }
            }
        }

        private static async Task<IReadOnlyList<IReadOnlyList<object?>>> ReadAllAsync(NpgsqlCommand command)
        {
            var rows = new List<IReadOnlyList<object?>>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }
                rows.Add(row);
            }
            return rows;
        }

        private string KeyText(UndoRow row) => LockKeyFormatter.Format(Dialect.KeyOf(table, row));

        private List<UndoRow> ByKey(IEnumerable<UndoRow> rows) => rows.OrderBy(KeyText, StringComparer.Ordinal).ToList();

        private static IReadOnlyList<string> KeyTexts(IEnumerable<IReadOnlyList<string>> keys) =>
            keys.Select(LockKeyFormatter.Format).Distinct().Order(StringComparer.Ordinal).ToList();
    }
}
