using System.Text.RegularExpressions;
using AtProxy.Metadata;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
using Npgsql;
using NpgsqlTypes;

namespace AtProxy.Tests.Sql;

/// <summary>
/// Runs every corpus statement on a real PostgreSQL the way the proxy will: metadata check, before
/// image, the statement itself (returning its keys), after image, dirty check, lock keys and the
/// undo statements, which must put the table back exactly as it was. Any generated statement
/// PostgreSQL rejects fails the case. Each case runs in a transaction that is rolled back.
/// </summary>
public class SqlCorpusDatabaseTests(CorpusDatabaseFixture fixture) : IClassFixture<CorpusDatabaseFixture>
{
    private static readonly PostgresDialect Dialect = PostgresDialect.Instance;

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
            IReadOnlyList<IReadOnlyList<object?>> before = [];
            IReadOnlyList<string>? constraintColumns = statement.OnConflict?.ConstraintName is { } constraint
                ? await CatalogReader.ConstraintColumnsAsync(connection, table, constraint, transaction)
                : null;
            if (Dialect.BuildBeforeImage(statement, table, constraintColumns) is { } beforeImage)
            {
                Assert.Contains("FOR UPDATE", beforeImage.Text, StringComparison.Ordinal);
                before = await QueryAsync(beforeImage);
            }

            var keyReturning = Dialect.BuildKeyReturning(statement, table);
            var returned = await QueryUserAsync(keyReturning.Text);
            var keys = Distinct(returned.Select(row => (IReadOnlyList<object?>)row.Skip(row.Count - keyReturning.KeyColumnCount).ToArray()));

            var after = keys.Count == 0 ? [] : await QueryAsync(Dialect.BuildAfterImage(table, keys));
            Assert.Equal(statement.Kind == DmlKind.Delete ? 0 : keys.Count, after.Count);
            if (statement.Kind is DmlKind.Update or DmlKind.Delete)
            {
                // The before image must have locked exactly the rows the statement then changed.
                Assert.Equal(KeyTexts(keys), KeyTexts(before.Select(row => Dialect.KeyOf(table, row))));
            }
            if (keys.Count > 0)
            {
                var dirty = await QueryAsync(Dialect.BuildDirtyCheck(table, keys));
                Assert.Equal(Texts(after), Texts(dirty));
            }

            var lockKeys = Dialect.BuildLockKeys(table, [.. before, .. after]);
            Assert.All(lockKeys, key => Assert.Equal(table.CanonicalName, key.Table));

            foreach (var undo in Dialect.BuildUndo(statement.Kind, table, before, after))
            {
                await using var undoCommand = Generated(undo);
                Assert.Equal(1, await undoCommand.ExecuteNonQueryAsync());
            }
            Assert.Equal(snapshot, await SnapshotAsync());
        }

        public async Task LockingReadAsync()
        {
            var lockQuery = Dialect.BuildBeforeImage(statement, table)!;
            var locked = await QueryAsync(lockQuery);
            var read = await QueryUserAsync(statement.Text);
            Assert.Equal(read.Count, locked.Count);
            var lockKeys = Dialect.BuildLockKeys(table, locked);
            Assert.Equal(locked.Count, lockKeys.Count);
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

        private NpgsqlCommand Generated(GeneratedSql sql)
        {
            var command = new NpgsqlCommand(sql.Text, connection, transaction);
            if (sql.BindsUserParameters)
            {
                BindUserParameters(command, sql.Text);
            }
            foreach (var parameter in sql.Parameters)
            {
                Assert.StartsWith(GeneratedSql.ParameterPrefix, parameter.Name, StringComparison.Ordinal);
                command.Parameters.Add(new NpgsqlParameter
                {
                    ParameterName = parameter.Name,
                    Value = parameter.Value ?? DBNull.Value,
                    DataTypeName = parameter.DataTypeName,
                });
            }
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

        private static IReadOnlyList<IReadOnlyList<object?>> Distinct(IEnumerable<IReadOnlyList<object?>> keys) =>
            keys.DistinctBy(LockKeyFormatter.Format).ToList();

        private static IReadOnlyList<string> KeyTexts(IEnumerable<IReadOnlyList<object?>> keys) =>
            keys.Select(LockKeyFormatter.Format).Distinct().Order(StringComparer.Ordinal).ToList();

        private static IReadOnlyList<string> Texts(IEnumerable<IReadOnlyList<object?>> rows) =>
            rows.Select(row => string.Join("|", row.Select(v => v is Array a ? string.Join(",", a.Cast<object>()) : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture))))
                .Order(StringComparer.Ordinal).ToList();
    }
}
