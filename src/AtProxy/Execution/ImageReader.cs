using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Execution;

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

    /// <summary>The rows of an image query, each target row once (a join can return one several times).</summary>
    public async Task<List<UndoRow>> ReadRowsAsync(GeneratedSql sql, CancellationToken cancellationToken)
    {
        await using var command = Create(sql);
        var rows = new List<UndoRow>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = RowImage.Read(reader, Table.Columns.Count);
            if (seen.Add(LockKeyFormatter.Format(Dialect.KeyOf(Table, row))))
            {
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary>The keys a key query returns (text values in key order), each once.</summary>
    public async Task<List<string[]>> ReadKeysAsync(GeneratedSql sql, CancellationToken cancellationToken)
    {
        await using var command = Create(sql);
        var keys = new List<string[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = new string[Table.PrimaryKey.Count];
            for (var i = 0; i < key.Length; i++)
            {
                key[i] = reader.GetString(i);
            }
            if (seen.Add(LockKeyFormatter.Format(key)))
            {
                keys.Add(key);
            }
        }
        return keys;
    }

    /// <summary>The columns of <c>ON CONFLICT ON CONSTRAINT name</c>, from the catalog.</summary>
    public async Task<IReadOnlyList<string>> ConstraintColumnsAsync(string constraint, CancellationToken cancellationToken)
    {
        await using var command = Create(Dialect.BuildConstraintColumns(Table, constraint));
        var columns = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
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
