using System.Data.Common;
using AtProxy.Metadata;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Resources;

/// <summary>
/// One database the proxy writes, known to the coordinator by its id: how to open a connection
/// for phase 2, its table metadata and its undo log table.
/// </summary>
/// <remarks>
/// The resource outlives the data sources that wrap it: it keeps the live ones
/// (<see cref="ResourceAttachment"/>) and opens phase-2 connections with the most recent. It serves
/// phase 2 only while one of them is open, so that a disposed data source never answers for it.
/// </remarks>
internal sealed class Resource
{
    private readonly List<ResourceAttachment> _attachments = [];
    private ResourceIdentity? _identity;

    public Resource(string id, AtProxyOptions options)
    {
        Id = id;
        UndoLog = new UndoLogTable(options.UndoLogSchema);
    }

    /// <summary>The id the application gives this database (never its connection string).</summary>
    public string Id { get; }

    public UndoLogTable UndoLog { get; }

    /// <summary>Warns when the role may not suppress the triggers a rollback's restores would fire.</summary>
    public TriggerSuppressionCheck TriggerCheck { get; } = new();

    /// <summary>The tables' metadata; known once <see cref="EnsureUndoLogAsync"/> has run.</summary>
    public TableMetadataCache Metadata => _metadata ?? throw NotEnsured();

    /// <summary>Generates every image, lock and undo statement the proxy runs on this database; known once <see cref="EnsureUndoLogAsync"/> has run.</summary>
    public ISqlDialect Dialect => _dialect ?? throw NotEnsured();

    // Both name AtProxy's functions in the undo log's schema, which is resolved with the table.
    private volatile TableMetadataCache? _metadata;
    private volatile ISqlDialect? _dialect;

    private static InvalidOperationException NotEnsured() => new("The resource's undo log is not resolved yet.");

    /// <summary>True while an attachment that is not closing takes phase-2 commands for this resource.</summary>
    public bool IsServed
    {
        get
        {
            lock (_attachments)
            {
                return IsServedLocked();
            }
        }
    }

    /// <summary>True while any attachment, closing or not, can open connections to this resource.</summary>
    public bool HasConnectionFactory
    {
        get
        {
            lock (_attachments)
            {
                return _attachments.Count > 0;
            }
        }
    }

    /// <summary>Opens a new connection of the application's own configuration, for phase-2 work.</summary>
    public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        Func<CancellationToken, ValueTask<DbConnection>>? open;
        lock (_attachments)
        {
            open = (_attachments.LastOrDefault(a => !a.IsClosing) ?? _attachments.LastOrDefault())?.OpenConnection;
        }
        return open is not null
            ? open(cancellationToken)
            : throw new AtProxyException($"Resource '{Id}' has no live data source in this process: every data source wrapping it was disposed.");
    }

    /// <summary>
    /// The identity of the database this resource's connections reach (see <see cref="ResourceIdentityTable"/>);
    /// null until <see cref="EnsureUndoLogAsync"/> read it.
    /// </summary>
    public ResourceIdentity? Identity => Volatile.Read(ref _identity);

    /// <summary>
    /// Makes sure the undo log table and the image functions exist and the database's identity is
    /// known (once per process, and again for the identity when the id is wrapped anew).
    /// </summary>
    public async Task EnsureUndoLogAsync(CancellationToken cancellationToken)
    {
        if (_dialect is not null && Identity is not null)
        {
            return;
        }
        await UndoLog.EnsureAsync(OpenConnectionAsync, cancellationToken).ConfigureAwait(false);
        _metadata ??= new TableMetadataCache(UndoLog.Schema);
        _dialect ??= new PostgresDialect(UndoLog.Schema);
        if (Identity is null)
        {
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            Volatile.Write(ref _identity, await ResourceIdentityTable.EnsureAsync(connection, UndoLog.Schema, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>Adds a live attachment; true when the resource was not served before.</summary>
    internal bool Attach(ResourceAttachment attachment)
    {
        lock (_attachments)
        {
            var wasServed = IsServedLocked();
            if (_attachments.Count == 0)
            {
                // A data source wrapping the id again may reach another database: read its identity, undo
                // log, functions and tables anew.
                Volatile.Write(ref _identity, null);
                UndoLog.Forget();
                _metadata = null;
                _dialect = null;
            }
            _attachments.Add(attachment);
            return !wasServed;
        }
    }

    /// <summary>Marks an attachment closing; true when the resource is no longer served because of it.</summary>
    internal bool BeginClose(ResourceAttachment attachment)
    {
        lock (_attachments)
        {
            if (attachment.IsClosing || !_attachments.Contains(attachment))
            {
                return false;
            }
            var wasServed = IsServedLocked();
            attachment.IsClosing = true;
            return wasServed && !IsServedLocked();
        }
    }

    /// <summary>Removes an attachment; true when the resource is no longer served because of it.</summary>
    internal bool Detach(ResourceAttachment attachment)
    {
        lock (_attachments)
        {
            var wasServed = IsServedLocked();
            return _attachments.Remove(attachment) && wasServed && !IsServedLocked();
        }
    }

    private bool IsServedLocked() => _attachments.Exists(a => !a.IsClosing);
}
