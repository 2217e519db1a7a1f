using System.Data.Common;
using AtProxy.Resources;

namespace AtProxy;

/// <summary>
/// A <see cref="DbDataSource"/> whose connections join the ambient global transaction. Made by
/// <see cref="AtProxyClient.Wrap"/>; outside a global transaction it behaves exactly like the
/// data source it wraps.
/// </summary>
public sealed class AtDbDataSource : DbDataSource
{
    private readonly AtProxyClient _client;

    internal AtDbDataSource(DbDataSource wrapped, AtProxyClient client, Resource resource)
    {
        WrappedDataSource = wrapped;
        _client = client;
        Resource = resource;
    }

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
        (AtDbConnection)await OpenDbConnectionAsync(cancellationToken);

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection() =>
        new AtDbConnection(WrappedDataSource.CreateConnection(), _client, Resource);

    /// <inheritdoc />
    protected override DbConnection OpenDbConnection() =>
        new AtDbConnection(WrappedDataSource.OpenConnection(), _client, Resource);

    /// <inheritdoc />
    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default) =>
        new AtDbConnection(await WrappedDataSource.OpenConnectionAsync(cancellationToken), _client, Resource);

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

    /// <summary>Disposes the wrapped data source.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            WrappedDataSource.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Disposes the wrapped data source.</summary>
    protected override async ValueTask DisposeAsyncCore()
    {
        await WrappedDataSource.DisposeAsync();
        await base.DisposeAsyncCore();
    }
}
