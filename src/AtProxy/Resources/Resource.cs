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
    }

    /// <summary>The id the application gives this database (never its connection string).</summary>
    public string Id { get; }

    public UndoLogTable UndoLog { get; }

    /// <summary>The tables' metadata; known once <see cref="EnsureUndoLogAsync"/> has run.</summary>
    public TableMetadataCache Metadata => _metadata ?? throw NotEnsured();

    /// <summary>Generates every image, lock and undo statement the proxy runs on this database; known once <see cref="EnsureUndoLogAsync"/> has run.</summary>
    public ISqlDialect Dialect => _dialect ?? throw NotEnsured();

    // Both name AtProxy's functions in the undo log's schema, which is resolved with the table.
    private volatile TableMetadataCache? _metadata;
    private volatile ISqlDialect? _dialect;

    private static InvalidOperationException NotEnsured() => new("The resource's undo log is not resolved yet.");

    /// <summary>Opens a new connection of the application's own configuration, for phase-2 work.</summary>
    public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => _openConnection(cancellationToken);

    /// <summary>Makes sure the undo log table and the image functions exist (once per process).</summary>
    public async ValueTask EnsureUndoLogAsync(CancellationToken cancellationToken)
    {
        if (_dialect is not null)
        {
            return;
        }
        await UndoLog.EnsureAsync(_openConnection, cancellationToken);
        _metadata ??= new TableMetadataCache(UndoLog.Schema);
        _dialect ??= new PostgresDialect(UndoLog.Schema);
    }
}
