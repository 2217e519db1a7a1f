using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
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
        var dialect = branch.Resource.Dialect;
        dialect.EnsureSupported(statement, table);

        if (statement.Kind == DmlKind.SelectForUpdate)
        {
            await GlobalLockWait.LockRowsAsync(connection, transaction, dialect.BuildLockedKeys(statement, table), unit, table, branch, cancellationToken);
            return await RunUserStatementAsync(connection, transaction, statementText, unit, extraColumns: 0, cancellationToken, _ => { });
        }

        var record = UndoRecordTable.NewRecord(table, statement.Kind switch
        {
            DmlKind.Insert => UndoKind.Insert,
            DmlKind.Update => UndoKind.Update,
            DmlKind.Delete => UndoKind.Delete,
            _ => UndoKind.Upsert,
        });
        var image = new ImageReader(connection, transaction, unit, dialect, table);
        try
        {
            var result = statement.Kind switch
            {
                DmlKind.Update or DmlKind.Delete => await UpdateOrDeleteAsync(image, statement, record, cancellationToken),
                DmlKind.Insert => await InsertAsync(image, statement, record, cancellationToken),
                DmlKind.Upsert => await UpsertAsync(image, statement, record, cancellationToken),
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

    private static async Task<BufferedResultSet> UpdateOrDeleteAsync(ImageReader image, DmlStatement statement, UndoRecord record, CancellationToken cancellationToken)
    {
        var table = image.Table;
        var before = await image.ReadRowsAsync(image.Dialect.BuildBeforeImage(statement, table)!, cancellationToken);
        record.Before.AddRange(before);
        var beforeKeys = before.Select(row => image.Dialect.KeyOf(table, row)).ToList();
        var imaged = beforeKeys.Select(JoinKey).ToHashSet(StringComparer.Ordinal);

        // The statement reports the keys it wrote: under READ COMMITTED it takes a newer snapshot than
        // the before image did and may reach a row committed in between, which the undo log would miss.
        var rewritten = image.Dialect.BuildKeyReturning(statement, table);
        var unimaged = 0;
        var result = await RunUserStatementAsync(image.Connection, image.Transaction, rewritten.Text, image.Unit, rewritten.HiddenColumnCount, cancellationToken, hidden =>
        {
            if (!imaged.Contains(JoinKey(KeyOfHidden(hidden, rewritten))))
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
            record.After.AddRange(await image.ReadRowsAsync(image.Dialect.BuildAfterImage(table, beforeKeys), cancellationToken));
        }
        return result;
    }

    private static string JoinKey(IReadOnlyList<string> key) => string.Join('\u001f', key);

    private static string[] KeyOfHidden(object[] hidden, KeyReturningStatement rewritten)
    {
        var key = new string[rewritten.KeyColumnCount];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = (string)hidden[i];
        }
        return key;
    }

    private static async Task<BufferedResultSet> InsertAsync(ImageReader image, DmlStatement statement, UndoRecord record, CancellationToken cancellationToken)
    {
        var table = image.Table;
        var rewritten = image.Dialect.BuildKeyReturning(statement, table);
        var keys = new List<IReadOnlyList<string>>();
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        var result = await RunUserStatementAsync(image.Connection, image.Transaction, rewritten.Text, image.Unit, rewritten.HiddenColumnCount, cancellationToken, hidden =>
        {
            var key = KeyOfHidden(hidden, rewritten);
            keys.Add(key);
            if (!rewritten.HasInsertedFlag || hidden[key.Length] is true)
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
            var after = await image.ReadRowsAsync(image.Dialect.BuildAfterImage(table, keys), cancellationToken);
            foreach (var row in after)
            {
                row.Inserted = inserted.Contains(JoinKey(image.Dialect.KeyOf(table, row)));
            }
            record.After.AddRange(after);
        }
        return result;
    }

    private static async Task<BufferedResultSet> UpsertAsync(ImageReader image, DmlStatement statement, UndoRecord record, CancellationToken cancellationToken)
    {
        var conflict = statement.OnConflict!;
        if (conflict.Action == ConflictAction.DoNothing)
        {
            // Rows that conflicted are left as they were: only the inserted ones need undo.
            record.Kind = UndoKind.Insert;
            return await InsertAsync(image, statement, record, cancellationToken);
        }
        IReadOnlyList<string>? constraintColumns = null;
        if (conflict.ConstraintName is { } constraint)
        {
            constraintColumns = await image.ConstraintColumnsAsync(constraint, cancellationToken);
        }
        var before = await image.ReadRowsAsync(image.Dialect.BuildBeforeImage(statement, image.Table, constraintColumns)!, cancellationToken);
        record.Before.AddRange(before);
        return await InsertAsync(image, statement, record, cancellationToken);
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
}
