using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Undo;
using Npgsql;

namespace AtProxy.Execution;

/// <summary>
/// Runs one recognized statement inside the branch's local transaction:
/// before image (<c>FOR UPDATE</c>) → the statement itself → after image by primary key → undo record.
/// </summary>
internal static class StatementExecutor
{
    public static async Task<BufferedResultSet> ExecuteAsync(
        DbConnection connection, DbTransaction transaction, DmlStatement statement, string statementText,
        StatementUnit unit, LocalBranch branch, CancellationToken cancellationToken)
    {
        if (!statement.IsWrite && statement.Kind != DmlKind.SelectForUpdate)
        {
            // Plain reads run as written, inside the branch's local transaction.
            return await RunUserStatementAsync(connection, transaction, statementText, unit, extraColumns: 0, cancellationToken, _ => { });
        }

        var target = statement.Target!;
        TableMetadata table;
        try
        {
            table = await branch.Resource.Metadata.GetAsync(connection, transaction, target.Schema, target.Name, cancellationToken);
        }
        catch (AtProxyException ex)
        {
            throw new AtProxyNotSupportedException($"{ex.Message} (statement at line {statement.Line}, column {statement.Column})", ex);
        }
        StatementValidation.EnsureSupported(statement, table);

        if (statement.Kind == DmlKind.SelectForUpdate)
        {
            await GlobalLockWait.LockRowsAsync(connection, transaction, ImageSql.SelectForUpdateKeys(statement, table), unit, table, branch, cancellationToken);
            return await RunUserStatementAsync(connection, transaction, statementText, unit, extraColumns: 0, cancellationToken, _ => { });
        }

        var record = NewRecord(statement, table);
        try
        {
            var result = statement.Kind switch
            {
                DmlKind.Update or DmlKind.Delete => await UpdateOrDeleteAsync(connection, transaction, statement, statementText, unit, table, record, cancellationToken),
                DmlKind.Insert => await InsertAsync(connection, transaction, statement, unit, table, record, withInsertedFlag: false, cancellationToken),
                DmlKind.Upsert => await UpsertAsync(connection, transaction, statement, unit, table, record, cancellationToken),
                _ => throw new InvalidOperationException($"Unexpected statement kind {statement.Kind}."),
            };
            if (record.Before.Count > 0 || record.After.Count > 0)
            {
                branch.Add(record);
            }
            return result;
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedColumn or PostgresErrorCodes.UndefinedTable)
        {
            // The table may have changed since its metadata was read.
            branch.Resource.Metadata.Invalidate(target.Schema, target.Name);
            throw;
        }
    }

    private static UndoRecord NewRecord(DmlStatement statement, TableMetadata table)
    {
        var record = new UndoRecord
        {
            Schema = table.Schema,
            Table = table.Name,
            Kind = statement.Kind switch
            {
                DmlKind.Insert => UndoKind.Insert,
                DmlKind.Update => UndoKind.Update,
                DmlKind.Delete => UndoKind.Delete,
                _ => UndoKind.Upsert,
            },
        };
        foreach (var column in table.Columns)
        {
            record.Columns.Add(new UndoColumn { Name = column.Name, DataType = column.DataType, Generated = column.IsGenerated, IdentityAlways = column.IsIdentityAlways });
        }
        record.PrimaryKey.AddRange(table.PrimaryKey.Select(k => k.Name));
        return record;
    }

    private static async Task<BufferedResultSet> UpdateOrDeleteAsync(
        DbConnection connection, DbTransaction transaction, DmlStatement statement, string statementText, StatementUnit unit,
        TableMetadata table, UndoRecord record, CancellationToken cancellationToken)
    {
        var before = await ReadRowsAsync(connection, transaction, ImageSql.BeforeUpdateOrDelete(statement, table), unit, table, cancellationToken);
        record.Before.AddRange(before);
        var imaged = KeysOf(before, table).Select(JoinKey).ToHashSet(StringComparer.Ordinal);

        // The statement reports the keys it wrote: under READ COMMITTED it takes a newer snapshot than
        // the before image did and may reach a row committed in between, which the undo log would miss.
        var (text, extra) = ImageSql.WithKeyReturning(statement, table, withInsertedFlag: false);
        var unimaged = 0;
        var result = await RunUserStatementAsync(connection, transaction, text, unit, extra, cancellationToken, hidden =>
        {
            if (!imaged.Contains(JoinKey(hidden.Take(table.PrimaryKey.Count).Select(v => (string)v).ToArray())))
            {
                unimaged++;
            }
        });
        if (unimaged > 0)
        {
            throw new AtProxyException(
                $"The {statement.Kind.ToString().ToUpperInvariant()} at line {statement.Line}, column {statement.Column} wrote {unimaged} row(s) of {table.CanonicalName} " +
                "that its before image did not see (committed by another transaction in between, or chosen by a volatile function). " +
                "Its local transaction was not committed; run it again.");
        }
        if (statement.Returning is null)
        {
            result = new BufferedResultSet([], [], [], [], result.RecordsAffected);
        }
        if (statement.Kind == DmlKind.Update && before.Count > 0)
        {
            record.After.AddRange(await ReadByKeyAsync(connection, transaction, table, KeysOf(before, table), cancellationToken));
        }
        return result;
    }

    private static string JoinKey(string[] key) => string.Join('\u001f', key);

    private static async Task<BufferedResultSet> InsertAsync(
        DbConnection connection, DbTransaction transaction, DmlStatement statement, StatementUnit unit,
        TableMetadata table, UndoRecord record, bool withInsertedFlag, CancellationToken cancellationToken)
    {
        var (text, extra) = ImageSql.WithKeyReturning(statement, table, withInsertedFlag);
        var keys = new List<string[]>();
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        var result = await RunUserStatementAsync(connection, transaction, text, unit, extra, cancellationToken, hidden =>
        {
            var key = new string[table.PrimaryKey.Count];
            for (var i = 0; i < key.Length; i++)
            {
                key[i] = (string)hidden[i];
            }
            keys.Add(key);
            if (!withInsertedFlag || hidden[key.Length] is true)
            {
                inserted.Add(JoinKey(key));
            }
        });
        if (statement.Returning is null)
        {
            // The key columns were ours; the application asked for no rows.
            result = new BufferedResultSet([], [], [], [], result.RecordsAffected);
        }
        if (keys.Count > 0)
        {
            var after = await ReadByKeyAsync(connection, transaction, table, keys, cancellationToken);
            var keyIndexes = table.PrimaryKeyIndexes;
            foreach (var row in after)
            {
                row.Inserted = inserted.Contains(JoinKey(keyIndexes.Select(i => RowImage.Text(row.Values[i]) ?? "").ToArray()));
            }
            record.After.AddRange(after);
        }
        return result;
    }

    private static async Task<BufferedResultSet> UpsertAsync(
        DbConnection connection, DbTransaction transaction, DmlStatement statement, StatementUnit unit,
        TableMetadata table, UndoRecord record, CancellationToken cancellationToken)
    {
        var conflict = statement.OnConflict!;
        if (conflict.Action == ConflictAction.DoNothing)
        {
            // Rows that conflicted are left as they were: only the inserted ones need undo.
            record.Kind = UndoKind.Insert;
            return await InsertAsync(connection, transaction, statement, unit, table, record, withInsertedFlag: false, cancellationToken);
        }
        var conflictColumns = conflict.TargetColumns;
        if (conflictColumns.Count == 0 && conflict.ConstraintName is { } constraint)
        {
            conflictColumns = await ConstraintColumnsAsync(connection, transaction, table, constraint, cancellationToken);
        }
        var before = await ReadRowsAsync(connection, transaction, ImageSql.BeforeUpsert(statement, table, conflictColumns), unit, table, cancellationToken);
        record.Before.AddRange(before);
        return await InsertAsync(connection, transaction, statement, unit, table, record, withInsertedFlag: true, cancellationToken);
    }

    private static async Task<IReadOnlyList<string>> ConstraintColumnsAsync(DbConnection connection, DbTransaction transaction, TableMetadata table, string constraint, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT a.attname FROM pg_constraint c
            CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
            WHERE c.conrelid = to_regclass(@t) AND c.conname = @c ORDER BY k.ord
            """;
        AddText(command, "t", ImageSql.QuotedTable(table));
        AddText(command, "c", constraint);
        var columns = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            columns.Add(reader.GetString(0));
        }
        if (columns.Count == 0)
        {
            throw new AtProxyNotSupportedException($"Constraint \"{constraint}\" of {table.CanonicalName} was not found; cannot capture the rows ON CONFLICT would update.");
        }
        return columns;
    }

    /// <summary>Runs the application's statement (possibly with key columns appended) and reads all its rows.</summary>
    private static async Task<BufferedResultSet> RunUserStatementAsync(
        DbConnection connection, DbTransaction transaction, string text, StatementUnit unit, int extraColumns,
        CancellationToken cancellationToken, Action<object[]> onHiddenValues)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = text;
        command.CommandTimeout = unit.CommandTimeout;
        ParameterCopier.CopyAll(unit.Parameters, command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var visible = Math.Max(0, reader.FieldCount - extraColumns);
        var names = new string[visible];
        var types = new Type[visible];
        var dataTypeNames = new string[visible];
        for (var i = 0; i < visible; i++)
        {
            names[i] = reader.GetName(i);
            types[i] = reader.GetFieldType(i);
            dataTypeNames[i] = reader.GetDataTypeName(i);
        }
        var rows = new List<object[]>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var values = new object[visible];
            for (var i = 0; i < visible; i++)
            {
                values[i] = reader.GetValue(i);
            }
            rows.Add(values);
            if (extraColumns > 0)
            {
                var hidden = new object[extraColumns];
                for (var i = 0; i < extraColumns; i++)
                {
                    hidden[i] = reader.GetValue(visible + i);
                }
                onHiddenValues(hidden);
            }
        }
        await reader.CloseAsync();
        return new BufferedResultSet(names, types, dataTypeNames, rows, reader.RecordsAffected);
    }

    private static async Task<List<UndoRow>> ReadRowsAsync(DbConnection connection, DbTransaction transaction, string sql, StatementUnit unit, TableMetadata table, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = unit.CommandTimeout;
        ParameterCopier.CopyAll(unit.Parameters, command);
        return await ReadTextRowsAsync(command, table, cancellationToken);
    }

    private static async Task<List<UndoRow>> ReadByKeyAsync(DbConnection connection, DbTransaction transaction, TableMetadata table, IReadOnlyList<string[]> keys, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        ImageSql.ByPrimaryKey(command, table, keys, forUpdate: false);
        return await ReadTextRowsAsync(command, table, cancellationToken);
    }

    private static async Task<List<UndoRow>> ReadTextRowsAsync(DbCommand command, TableMetadata table, CancellationToken cancellationToken)
    {
        var rows = new List<UndoRow>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var keyIndexes = table.PrimaryKeyIndexes;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new UndoRow();
            for (var i = 0; i < table.Columns.Count; i++)
            {
                row.Values.Add(RowImage.Value(reader.IsDBNull(i) ? null : reader.GetString(i)));
            }
            // A join (UPDATE ... FROM) can return one target row several times.
            if (seen.Add(RowImage.PrimaryKeyText(row, keyIndexes)))
            {
                rows.Add(row);
            }
        }
        return rows;
    }

    private static List<string[]> KeysOf(IReadOnlyList<UndoRow> rows, TableMetadata table)
    {
        var keyIndexes = table.PrimaryKeyIndexes;
        return rows.Select(row => keyIndexes.Select(i => RowImage.Text(row.Values[i]) ?? "").ToArray()).ToList();
    }

    private static void AddText(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
