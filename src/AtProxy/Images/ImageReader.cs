using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Phase1;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Images;

/// <summary>
/// Runs the dialect's image queries for one statement inside the branch's local transaction and
/// reads their rows as text images.
/// </summary>
internal sealed class ImageReader(DbConnection connection, DbTransaction transaction, StatementUnit unit, ISqlDialect dialect, TableMetadata table)
{
    public DbConnection Connection { get; } = connection;

    public DbTransaction Transaction { get; } = transaction;

    public StatementUnit Unit { get; } = unit;

    public ISqlDialect Dialect { get; } = dialect;

    public TableMetadata Table { get; } = table;

    /// <summary>
    /// Runs the before image (when there is one) and the application's statement rewritten to return
    /// its images, pipelined in one round trip: the before image locks its rows (<c>FOR UPDATE</c>)
    /// before the statement runs, exactly as if they ran one after the other. Returns the before
    /// image (each row once) with its keys (as <see cref="LockKeyFormatter.Format"/> writes them),
    /// the application's own result and the rows the statement wrote.
    /// </summary>
    public async Task<(List<UndoRow> Before, HashSet<string> BeforeKeys, BufferedResultSet Result, List<WrittenRow> Written)> RunWithImagesAsync(
        GeneratedSql? beforeImage, ImageReturningStatement statement, CancellationToken cancellationToken)
    {
        var batch = Connection.CreateBatch();
        await using var batchDisposal = batch.ConfigureAwait(false);
        batch.Transaction = Transaction;
        batch.Timeout = Unit.CommandTimeout;
        if (beforeImage is not null)
        {
            var image = batch.CreateBatchCommand();
            if (beforeImage.BindsUserParameters)
            {
                ParameterCopier.CopyAll(Unit.Parameters, image);
            }
            beforeImage.Apply(image);
            batch.BatchCommands.Add(image);
        }
        var write = batch.CreateBatchCommand();
        write.CommandText = statement.Text;
        ParameterCopier.CopyAll(Unit.Parameters, write);
        batch.BatchCommands.Add(write);

        var before = new List<UndoRow>();
        var beforeKeys = new HashSet<string>(StringComparer.Ordinal);
        var written = new List<WrittenRow>();
        BufferedResultSet result;
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            if (beforeImage is not null)
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // A join can return one target row several times; the image holds it once.
                    var row = RowImage.ReadRecord(reader, 0, Table.Columns.Count);
                    if (beforeKeys.Add(LockKeyFormatter.Format(Dialect.KeyOf(Table, row))))
                    {
                        before.Add(row);
                    }
                }
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }
            var visible = Math.Max(0, reader.FieldCount - statement.HiddenColumnCount);
            result = await BufferedResultSet.ReadAsync(reader, visible, cancellationToken, hidden => written.Add(ReadWritten(hidden, visible, statement))).ConfigureAwait(false);
        }
        return (before, beforeKeys, statement.HadReturning ? result.WithRecordsAffected(write.RecordsAffected) : BufferedResultSet.NoRows(write.RecordsAffected), written);
    }

    private WrittenRow ReadWritten(DbDataReader reader, int first, ImageReturningStatement statement)
    {
        // Without the flag every row a statement wrote is new to it (for an INSERT) or none is (the caller knows which).
        EnsureSameTable(reader.GetInt64(first + 1));
        var inserted = !statement.HasInsertedFlag || reader.GetBoolean(first + 2);
        var image = RowImage.ReadRecord(reader, first, statement.ImageColumnCount);
        return statement.ReturnsRows
            ? new WrittenRow(Dialect.KeyOf(Table, image), image, inserted)
            : new WrittenRow(KeyValues(image), null, inserted);
    }

    /// <summary>The rows with these keys as the table holds them now, by key text.</summary>
    public async Task<Dictionary<string, UndoRow>> ReadRowsAsync(IReadOnlyList<IReadOnlyList<string>> keys, CancellationToken cancellationToken)
    {
        var command = Create(Dialect.BuildDirtyCheck(Table, keys));
        await using var commandDisposal = command.ConfigureAwait(false);
        var rows = new Dictionary<string, UndoRow>(StringComparer.Ordinal);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var row = RowImage.ReadRecord(reader, 0, Table.Columns.Count);
            rows[LockKeyFormatter.Format(Dialect.KeyOf(Table, row))] = row;
        }
        return rows;
    }

    /// <summary>The keys a key query returns (text values in key order), each once.</summary>
    public async Task<List<string[]>> ReadKeysAsync(GeneratedSql sql, CancellationToken cancellationToken)
    {
        var command = Create(sql);
        await using var commandDisposal = command.ConfigureAwait(false);
        var keys = new List<string[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            EnsureSameTable(reader.GetInt64(1));
            var key = KeyValues(RowImage.ReadRecord(reader, 0, Table.PrimaryKey.Count));
            if (seen.Add(LockKeyFormatter.Format(key)))
            {
                keys.Add(key);
            }
        }
        return keys;
    }

    // The row type a statement's rows came back with must be the metadata's table's.
    private void EnsureSameTable(long rowType)
    {
        if (Table.RowType != 0 && rowType != Table.RowType)
        {
            throw new StaleMetadataException(
                $"In this session the statement's table name resolves to another table than {Table.CanonicalName}, the one AtProxy read first " +
                "(the session's search_path differs from the first session's, or the table was created again). Qualify the table name with its " +
                "schema, or give each search path a data source of its own.");
        }
    }

    // A key record's values; a primary-key column is never NULL.
    private string[] KeyValues(UndoRow key) =>
        key.Values.Select((value, i) => RowImage.Text(value) ?? throw new AtProxyException($"A row of {Table.CanonicalName} has no value for primary-key column \"{Table.PrimaryKey[i].Name}\".")).ToArray();

    /// <summary>The columns of <c>ON CONFLICT ON CONSTRAINT name</c>, from the catalog.</summary>
    public async Task<IReadOnlyList<string>> ConstraintColumnsAsync(string constraint, CancellationToken cancellationToken)
    {
        var command = Create(Dialect.BuildConstraintColumns(Table, constraint));
        await using var commandDisposal = command.ConfigureAwait(false);
        var columns = new List<string>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            columns.Add(reader.GetString(0));
        }
        if (columns.Count == 0)
        {
            throw new AtProxyNotSupportedException($"Constraint \"{constraint}\" of {Table.CanonicalName} was not found; cannot capture the rows ON CONFLICT would update.");
        }
        return columns;
    }

    private DbCommand Create(GeneratedSql sql)
    {
        var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandTimeout = Unit.CommandTimeout;
        if (sql.BindsUserParameters)
        {
            // Spliced user text (WHERE, VALUES) binds the application's own values.
            ParameterCopier.CopyAll(Unit.Parameters, command);
        }
        sql.Apply(command);
        return command;
    }
}
