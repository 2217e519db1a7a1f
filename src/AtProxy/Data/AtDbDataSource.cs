using System.Data.Common;
using AtProxy.Resources;
using AtProxy.Threading;

namespace AtProxy;

/// <summary>
/// A <see cref="DbDataSource"/> whose connections join the ambient global transaction. Made by
/// <see cref="AtProxyClient.Wrap"/>; outside a global transaction it behaves exactly like the
/// data source it wraps.
/// </summary>
public sealed class AtDbDataSource : DbDataSource
{
    private readonly AtProxyRuntime _runtime;
    private readonly ResourceAttachment _attachment;
    private readonly Lazy<AtDbProviderFactory?> _providerFactory;
    private int _disposed;

    internal AtDbDataSource(DbDataSource wrapped, AtProxyRuntime runtime, ResourceAttachment attachment)
    {
        WrappedDataSource = wrapped;
        _runtime = runtime;
        _attachment = attachment;
        Resource = attachment.Resource;
        _providerFactory = new Lazy<AtDbProviderFactory?>(CreateProviderFactory);
    }

    /// <summary>
    /// The provider factory of this data source's connections (also what
    /// <c>DbProviderFactories.GetFactory(connection)</c> returns for them); the connections it creates
    /// come from this data source. Null only when the wrapped provider has no factory.
    /// </summary>
    public AtDbProviderFactory? ProviderFactory => _providerFactory.Value;

    /// <summary>The data source this one wraps.</summary>
    public DbDataSource WrappedDataSource { get; }

    /// <summary>The id the coordinator knows this database by.</summary>
    public string ResourceId => Resource.Id;

    internal Resource Resource { get; }

    /// <inheritdoc />
    public override string ConnectionString => WrappedDataSource.ConnectionString;

    /// <inheritdoc cref="DbDataSource.CreateConnection"/>
    public new AtDbConnection CreateConnection() => (AtDbConnection)CreateDbConnection();

    /// <inheritdoc cref="DbDataSource.OpenConnection"/>
    public new AtDbConnection OpenConnection() => (AtDbConnection)OpenDbConnection();

    /// <inheritdoc cref="DbDataSource.OpenConnectionAsync"/>
    public new async ValueTask<AtDbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        (AtDbConnection)await OpenDbConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection() =>
        new AtDbConnection(WrappedDataSource.CreateConnection(), _runtime, Resource, ProviderFactory);

    /// <inheritdoc />
    protected override DbConnection OpenDbConnection() =>
        new AtDbConnection(WrappedDataSource.OpenConnection(), _runtime, Resource, ProviderFactory);

    /// <inheritdoc />
    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default) =>
        new AtDbConnection(await WrappedDataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false), _runtime, Resource, ProviderFactory);

    /// <inheritdoc />
    protected override DbCommand CreateDbCommand(string? commandText = null)
    {
        // A data-source command owns a connection of its own; route it through the proxy too.
        var connection = CreateConnection();
        var command = new AtDbCommand(connection.WrappedConnection.CreateCommand(), connection) { OwnsConnection = true };
        command.CommandText = commandText ?? "";
        return command;
    }

    /// <inheritdoc />
    protected override DbBatch CreateDbBatch()
    {
        var connection = CreateConnection();
        return new AtDbBatch(connection.WrappedConnection.CreateBatch(), connection) { OwnsConnection = true };
    }

    private AtDbProviderFactory? CreateProviderFactory()
    {
        // A data source does not name its provider's factory; an unopened connection of it does.
        using var probe = WrappedDataSource.CreateConnection();
        return DbProviderFactories.GetFactory(probe) is { } wrapped
            ? new AtDbProviderFactory(wrapped, WrappedDataSource.CreateConnection, _runtime, Resource)
            : null;
    }

    /// <summary>
    /// Deletes the undo rows of this database's committed branches still queued (waiting at most
    /// <see cref="AtProxyOptions.UndoDrainTimeout"/>), stops running phase 2 through this data source,
    /// then disposes the wrapped data source. Phase-2 work for the resource id that is still to come
    /// waits at the coordinator for the next data source wrapping it, in this process or another.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Blocking.Wait(() => _runtime.ReleaseAsync(_attachment));
            WrappedDataSource.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc cref="Dispose(bool)"/>
    protected override async ValueTask DisposeAsyncCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _runtime.ReleaseAsync(_attachment).ConfigureAwait(false);
            await WrappedDataSource.DisposeAsync().ConfigureAwait(false);
        }
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }
}
