using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Resources;

/// <summary>
/// One database the proxy writes, known to the coordinator by its id: how to open a connection
/// for phase 2, its table metadata and its undo log table.
/// </summary>
internal sealed class Resource
{
    private readonly Func<CancellationToken, ValueTask<DbConnection>> _openConnection;

    public Resource(string id, Func<CancellationToken, ValueTask<DbConnection>> openConnection, AtProxyOptions options)
    {
        Id = id;
        _openConnection = openConnection;
        UndoLog = new UndoLogTable(options.UndoLogSchema);
        Metadata = new TableMetadataCache();
    }

    /// <summary>The id the application gives this database (never its connection string).</summary>
    public string Id { get; }

    public UndoLogTable UndoLog { get; }

    public TableMetadataCache Metadata { get; }

    /// <summary>Generates every image, lock and undo statement the proxy runs on this database.</summary>
    public ISqlDialect Dialect { get; } = PostgresDialect.Instance;

    /// <summary>Opens a new connection of the application's own configuration, for phase-2 work.</summary>
    public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => _openConnection(cancellationToken);

    /// <summary>Makes sure the undo log table exists (once per process).</summary>
    public Task EnsureUndoLogAsync(CancellationToken cancellationToken) => UndoLog.EnsureAsync(_openConnection, cancellationToken);
}
