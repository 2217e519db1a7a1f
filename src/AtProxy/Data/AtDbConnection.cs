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

    internal AtDbConnection(DbConnection connection, AtProxyRuntime runtime, Resource resource)
    {
        WrappedConnection = connection;
        _runtime = runtime;
        Resource = resource;
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

    /// <inheritdoc />
    [AllowNull]
    public override string ConnectionString
    {
        get => WrappedConnection.ConnectionString;
        set => WrappedConnection.ConnectionString = value;
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

    /// <inheritdoc />
    public override bool CanCreateBatch => WrappedConnection.CanCreateBatch;

    /// <inheritdoc cref="DbConnection.ChangeDatabase(string)"/>
    public override void ChangeDatabase(string databaseName) => WrappedConnection.ChangeDatabase(databaseName);

    /// <inheritdoc cref="DbConnection.ChangeDatabaseAsync(string, CancellationToken)"/>
    public override Task ChangeDatabaseAsync(string databaseName, CancellationToken cancellationToken = default) =>
        WrappedConnection.ChangeDatabaseAsync(databaseName, cancellationToken);

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

    /// <summary>Disposes the wrapped connection (rolling back a transaction left open).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            EndAbandonedTransaction();
            WrappedConnection.StateChange -= ForwardStateChange;
            WrappedConnection.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Disposes the wrapped connection (rolling back a transaction left open).</summary>
    public override async ValueTask DisposeAsync()
    {
        EndAbandonedTransaction();
        WrappedConnection.StateChange -= ForwardStateChange;
        await WrappedConnection.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    private AtDbTransaction Track(AtDbTransaction transaction)
    {
        CurrentTransaction = transaction;
        return transaction;
    }

    // The server rolls back a transaction whose connection closes; our in-memory branch must go with it.
    private void EndAbandonedTransaction() => CurrentTransaction?.Abandon();

    private void ForwardStateChange(object sender, StateChangeEventArgs e) => OnStateChange(e);
}
