using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using AtProxy.Resources;

namespace AtProxy;

/// <summary>
/// A connection that joins the ambient global transaction: inside one, its writes are recorded
/// in the undo log and registered as a branch at the coordinator; outside one, every call goes
/// straight to the wrapped connection.
/// </summary>
public sealed class AtDbConnection : DbConnection
{
    private readonly AtProxyRuntime _runtime;
    private AtDbProviderFactory? _factory;
    private bool _disposed;

    /// <summary>
    /// Wraps a connection the application built itself. <paramref name="resourceId"/> names the
    /// database for the coordinator; it must be the same in every process that writes this database.
    /// </summary>
    public AtDbConnection(DbConnection connection, AtProxyClient client, string resourceId)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(client);
        WrappedConnection = connection;
        _runtime = client.Runtime;
        Resource = _runtime.Resources.RegisterConnectionTemplate(resourceId, connection);
        WrappedConnection.StateChange += ForwardStateChange;
    }

    internal AtDbConnection(DbConnection connection, AtProxyRuntime runtime, Resource resource, AtDbProviderFactory? factory)
    {
        WrappedConnection = connection;
        _runtime = runtime;
        Resource = resource;
        _factory = factory;
        WrappedConnection.StateChange += ForwardStateChange;
    }

    /// <summary>The connection this one wraps.</summary>
    public DbConnection WrappedConnection { get; }

    /// <summary>The id the coordinator knows this database by.</summary>
    public string ResourceId => Resource.Id;

    internal AtProxyRuntime Runtime => _runtime;

    internal Resource Resource { get; }

    /// <summary>The transaction begun on this connection and not yet ended, if any.</summary>
    internal AtDbTransaction? CurrentTransaction { get; set; }

    /// <summary>
    /// The wrapped connection's connection string. It cannot be changed: the resource id names one
    /// database, and a connection pointed elsewhere would leave its undo rows where phase 2 never
    /// looks. Setting the same value is allowed (and does nothing).
    /// </summary>
    [AllowNull]
    public override string ConnectionString
    {
        get => WrappedConnection.ConnectionString;
        set
        {
            if (!string.Equals(value ?? "", WrappedConnection.ConnectionString, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"The connection string of a connection to resource '{ResourceId}' cannot change: the resource id names one database. " +
                    $"Wrap a data source for another database under its own resource id ({nameof(AtProxyClient)}.{nameof(AtProxyClient.Wrap)}).");
            }
        }
    }

    /// <inheritdoc />
    public override int ConnectionTimeout => WrappedConnection.ConnectionTimeout;

    /// <inheritdoc />
    public override string Database => WrappedConnection.Database;

    /// <inheritdoc />
    public override string DataSource => WrappedConnection.DataSource;

    /// <inheritdoc />
    public override string ServerVersion => WrappedConnection.ServerVersion;

    /// <inheritdoc />
    public override ConnectionState State => WrappedConnection.State;

    /// <summary>
    /// This connection's <see cref="AtDbProviderFactory"/>: its data source's, or for a hand-built
    /// connection one that makes copies of it. Null when the wrapped provider has no factory.
    /// </summary>
    protected override DbProviderFactory? DbProviderFactory => _factory ??= FactoryForHandBuiltConnection();

    /// <inheritdoc />
    public override bool CanCreateBatch => WrappedConnection.CanCreateBatch;

    /// <summary>Refused for another database than the current one, for the reason <see cref="ConnectionString"/> cannot change.</summary>
    public override void ChangeDatabase(string databaseName)
    {
        EnsureSameDatabase(databaseName);
        WrappedConnection.ChangeDatabase(databaseName);
    }

    /// <inheritdoc cref="ChangeDatabase(string)"/>
    public override Task ChangeDatabaseAsync(string databaseName, CancellationToken cancellationToken = default)
    {
        EnsureSameDatabase(databaseName);
        return WrappedConnection.ChangeDatabaseAsync(databaseName, cancellationToken);
    }

    /// <inheritdoc cref="DbConnection.Open()"/>
    public override void Open() => WrappedConnection.Open();

    /// <inheritdoc cref="DbConnection.OpenAsync(CancellationToken)"/>
    public override Task OpenAsync(CancellationToken cancellationToken) => WrappedConnection.OpenAsync(cancellationToken);

    /// <inheritdoc cref="DbConnection.Close()"/>
    public override void Close()
    {
        EndAbandonedTransaction();
        WrappedConnection.Close();
    }

    /// <inheritdoc cref="DbConnection.CloseAsync()"/>
    public override async Task CloseAsync()
    {
        EndAbandonedTransaction();
        await WrappedConnection.CloseAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) =>
        Track(new AtDbTransaction(WrappedConnection.BeginTransaction(isolationLevel), this));

    /// <inheritdoc />
    protected override async ValueTask<DbTransaction> BeginDbTransactionAsync(IsolationLevel isolationLevel, CancellationToken cancellationToken) =>
        Track(new AtDbTransaction(await WrappedConnection.BeginTransactionAsync(isolationLevel, cancellationToken).ConfigureAwait(false), this));

    /// <inheritdoc cref="DbConnection.BeginTransaction()"/>
    public new AtDbTransaction BeginTransaction() => (AtDbTransaction)BeginDbTransaction(IsolationLevel.Unspecified);

    /// <inheritdoc cref="DbConnection.BeginTransaction(IsolationLevel)"/>
    public new AtDbTransaction BeginTransaction(IsolationLevel isolationLevel) => (AtDbTransaction)BeginDbTransaction(isolationLevel);

    /// <inheritdoc />
    protected override DbCommand CreateDbCommand() => new AtDbCommand(WrappedConnection.CreateCommand(), this);

    /// <inheritdoc cref="DbConnection.CreateCommand()"/>
    public new AtDbCommand CreateCommand() => (AtDbCommand)CreateDbCommand();

    /// <inheritdoc />
    protected override DbBatch CreateDbBatch() => new AtDbBatch(WrappedConnection.CreateBatch(), this);

    /// <inheritdoc />
    public override DataTable GetSchema() => WrappedConnection.GetSchema();

    /// <inheritdoc />
    public override DataTable GetSchema(string collectionName) => WrappedConnection.GetSchema(collectionName);

    /// <inheritdoc />
    public override DataTable GetSchema(string collectionName, string?[] restrictionValues) => WrappedConnection.GetSchema(collectionName, restrictionValues);

    /// <summary>Disposes the wrapped connection (rolling back a transaction left open) and raises <see cref="System.ComponentModel.Component.Disposed"/>.</summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing || _disposed)
        {
            return;
        }
        _disposed = true;
        EndAbandonedTransaction();
        WrappedConnection.StateChange -= ForwardStateChange;
        WrappedConnection.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Disposes the wrapped connection (rolling back a transaction left open) and raises <see cref="System.ComponentModel.Component.Disposed"/>.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            EndAbandonedTransaction();
            WrappedConnection.StateChange -= ForwardStateChange;
            await WrappedConnection.DisposeAsync().ConfigureAwait(false);
            // The component part: raises Disposed, as a synchronous Dispose does.
            base.Dispose(disposing: true);
        }
        GC.SuppressFinalize(this);
    }

    private AtDbTransaction Track(AtDbTransaction transaction)
    {
        CurrentTransaction = transaction;
        return transaction;
    }

    // The server rolls back a transaction whose connection closes; our in-memory branch must go with it.
    private void EndAbandonedTransaction() => CurrentTransaction?.Abandon();

    private void EnsureSameDatabase(string databaseName)
    {
        if (!string.Equals(databaseName, WrappedConnection.Database, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"A connection to resource '{ResourceId}' stays on database '{WrappedConnection.Database}'; it cannot change to '{databaseName}'. " +
                $"Wrap a data source for that database under its own resource id ({nameof(AtProxyClient)}.{nameof(AtProxyClient.Wrap)}).");
        }
    }

    private AtDbProviderFactory? FactoryForHandBuiltConnection()
    {
        // The public constructor accepted only a cloneable connection: a clone carries its settings, password included.
        var template = WrappedConnection;
        return DbProviderFactories.GetFactory(template) is { } wrapped && template is ICloneable cloneable
            ? new AtDbProviderFactory(wrapped, () => (DbConnection)cloneable.Clone(), _runtime, Resource)
            : null;
    }

    private void ForwardStateChange(object sender, StateChangeEventArgs e) => OnStateChange(e);
}
