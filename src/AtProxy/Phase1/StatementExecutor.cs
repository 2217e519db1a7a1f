using System.Data.Common;
using AtProxy.Images;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;
using Npgsql;

namespace AtProxy.Phase1;

/// <summary>
/// Runs one recognized statement inside the branch's local transaction:
/// before image (<c>FOR UPDATE</c>) and the statement rewritten to return its after image, in one
/// round trip → undo record.
/// </summary>
internal static class StatementExecutor
{
    public static async Task<BufferedResultSet> ExecuteAsync(
        DmlStatement statement, string statementText, StatementUnit unit, LocalTransactionBranch branch, CancellationToken cancellationToken)
    {
        var connection = branch.Connection;
        var transaction = branch.Transaction;
        if (!statement.IsWrite && statement.Kind != DmlKind.SelectForUpdate)
        {
            // Plain reads run as written, inside the branch's local transaction.
            return await RunUserStatementAsync(connection, transaction, statementText, unit, cancellationToken).ConfigureAwait(false);
        }

        var target = statement.Target!;
        // The undo log's schema holds the functions that images and metadata are read through.
        await branch.Resource.EnsureUndoLogAsync(cancellationToken).ConfigureAwait(false);
        TableMetadata table;
        try
        {
            table = await branch.Resource.Metadata.GetAsync(connection, transaction, target.Schema, target.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (AtProxyException ex)
        {
            throw new AtProxyNotSupportedException($"{ex.Message} (statement at line {statement.Line}, column {statement.Column})", ex);
        }
        var dialect = branch.Resource.Dialect;
        dialect.EnsureSupported(statement, table);
        branch.Resource.TriggerCheck.Check(branch.Resource, table, branch.Runtime.LoggerFactory);

        if (statement.Kind == DmlKind.SelectForUpdate)
        {
            try
            {
                await RowLocking.LockRowsAsync(dialect.BuildLockedKeys(statement, table), unit, table, branch, cancellationToken).ConfigureAwait(false);
            }
            catch (StaleMetadataException)
            {
                branch.Resource.Metadata.Invalidate(target.Schema, target.Name);
                throw;
            }
            return await RunUserStatementAsync(connection, transaction, statementText, unit, cancellationToken).ConfigureAwait(false);
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
                DmlKind.Update or DmlKind.Delete => await UpdateOrDeleteAsync(image, statement, record, cancellationToken).ConfigureAwait(false),
                DmlKind.Insert => await InsertAsync(image, statement, record, beforeImage: null, cancellationToken).ConfigureAwait(false),
                DmlKind.Upsert => await UpsertAsync(image, statement, record, cancellationToken).ConfigureAwait(false),
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
        catch (Exception ex) when (ex is not (AtProxyNotSupportedException or PostgresException))
        {
            // A server error aborts the transaction (or is undone by a rollback to a savepoint); anything
            // else may leave rows the statement wrote with no undo record: they must not commit.
            var where = $"the {statement.Kind.ToString().ToUpperInvariant()} at line {statement.Line}, column {statement.Column}";
            branch.Doom($"{where} failed after it may have written rows ({ex.Message}).");
            if (ex is StaleMetadataException or FormatException)
            {
                branch.Resource.Metadata.Invalidate(target.Schema, target.Name);
            }
            if (ex is FormatException)
            {
                throw new StaleMetadataException(
                    $"The rows {where} wrote do not have the columns AtProxy read for {table.CanonicalName} (has the table changed?): {ex.Message} " +
                    "Its local transaction cannot commit; AtProxy reads the table anew for the next one.", ex);
            }
            throw;
        }
    }

    private static async Task<BufferedResultSet> UpdateOrDeleteAsync(ImageReader image, DmlStatement statement, UndoRecord record, CancellationToken cancellationToken)
    {
        var table = image.Table;
        // The statement reports the rows it wrote: under READ COMMITTED it takes a newer snapshot than
        // the before image did and may reach a row committed in between, which the undo log would miss.
        var rewritten = image.Dialect.BuildImageReturning(statement, table);
        var (before, imaged, result, written) = await image.RunWithImagesAsync(image.Dialect.BuildBeforeImage(statement, table)!, rewritten, cancellationToken).ConfigureAwait(false);
        record.Before.AddRange(before);
        StatementImages.EnsureBeforeImageCovers(statement, table, imaged, written);
        if (statement.Kind == DmlKind.Update)
        {
            record.After.AddRange(await StatementImages.AfterImageAsync(image, written, inserts: false, cancellationToken).ConfigureAwait(false));
        }
        return result;
    }

    private static async Task<BufferedResultSet> InsertAsync(ImageReader image, DmlStatement statement, UndoRecord record, GeneratedSql? beforeImage, CancellationToken cancellationToken)
    {
        var (before, _, result, written) = await image.RunWithImagesAsync(beforeImage, image.Dialect.BuildImageReturning(statement, image.Table), cancellationToken).ConfigureAwait(false);
        record.Before.AddRange(before);
        record.After.AddRange(await StatementImages.AfterImageAsync(image, written, inserts: true, cancellationToken).ConfigureAwait(false));
        return result;
    }

    private static async Task<BufferedResultSet> UpsertAsync(ImageReader image, DmlStatement statement, UndoRecord record, CancellationToken cancellationToken)
    {
        var conflict = statement.OnConflict!;
        if (conflict.Action == ConflictAction.DoNothing)
        {
            // Rows that conflicted are left as they were: only the inserted ones need undo.
            record.Kind = UndoKind.Insert;
            return await InsertAsync(image, statement, record, beforeImage: null, cancellationToken).ConfigureAwait(false);
        }
        IReadOnlyList<string>? constraintColumns = null;
        if (conflict.ConstraintName is { } constraint)
        {
            constraintColumns = await image.ConstraintColumnsAsync(constraint, cancellationToken).ConfigureAwait(false);
        }
        return await InsertAsync(image, statement, record, image.Dialect.BuildBeforeImage(statement, image.Table, constraintColumns), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs the application's statement as written and reads all its rows.</summary>
    private static async Task<BufferedResultSet> RunUserStatementAsync(
        DbConnection connection, DbTransaction transaction, string text, StatementUnit unit, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Transaction = transaction;
        command.CommandText = text;
        command.CommandTimeout = unit.CommandTimeout;
        ParameterCopier.CopyAll(unit.Parameters, command);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        var result = await BufferedResultSet.ReadAsync(reader, reader.FieldCount, cancellationToken).ConfigureAwait(false);
        await reader.CloseAsync().ConfigureAwait(false);
        return result.WithRecordsAffected(reader.RecordsAffected);
    }
}
