using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using AtProxy.Phase1;
using AtProxy.Threading;

namespace AtProxy;

/// <summary>
/// A command on an <see cref="AtDbConnection"/>. Inside a global transaction (or a
/// <c>GlobalLock</c> scope) its statements go through the proxy's phase-1 engine; otherwise it is
/// the wrapped command, unchanged.
/// </summary>
public sealed class AtDbCommand : DbCommand
{
    private AtDbConnection? _connection;
    private AtDbTransaction? _transaction;
    private bool _disposed;

    internal AtDbCommand(DbCommand wrapped, AtDbConnection? connection)
    {
        WrappedCommand = wrapped;
        _connection = connection;
    }

    /// <summary>The command this one wraps.</summary>
    public DbCommand WrappedCommand { get; }

    /// <summary>Set for commands of a data source, which own their connection.</summary>
    internal bool OwnsConnection { get; init; }

    /// <inheritdoc />
    [AllowNull]
    public override string CommandText
    {
        get => WrappedCommand.CommandText;
        set => WrappedCommand.CommandText = value;
    }

    /// <inheritdoc />
    public override int CommandTimeout
    {
        get => WrappedCommand.CommandTimeout;
        set => WrappedCommand.CommandTimeout = value;
    }

    /// <inheritdoc />
    public override CommandType CommandType
    {
        get => WrappedCommand.CommandType;
        set => WrappedCommand.CommandType = value;
    }

    /// <inheritdoc />
    public override bool DesignTimeVisible
    {
        get => WrappedCommand.DesignTimeVisible;
        set => WrappedCommand.DesignTimeVisible = value;
    }

    /// <inheritdoc />
    public override UpdateRowSource UpdatedRowSource
    {
        get => WrappedCommand.UpdatedRowSource;
        set => WrappedCommand.UpdatedRowSource = value;
    }

    /// <inheritdoc />
    protected override DbConnection? DbConnection
    {
        get => _connection;
        set
        {
            // Keep the wrapper for our getter, hand the inner connection to the inner command.
            _connection = value switch
            {
                null => null,
                AtDbConnection at => at,
                _ => throw new ArgumentException($"An {nameof(AtDbCommand)} runs only on an {nameof(AtDbConnection)}; got {value.GetType().Name}.", nameof(value)),
            };
            WrappedCommand.Connection = _connection?.WrappedConnection;
        }
    }

    /// <inheritdoc />
    protected override DbParameterCollection DbParameterCollection => WrappedCommand.Parameters;

    /// <inheritdoc />
    protected override DbTransaction? DbTransaction
    {
        get => _transaction;
        set
        {
            _transaction = value switch
            {
                null => null,
                AtDbTransaction at => at,
                _ => throw new ArgumentException($"An {nameof(AtDbCommand)} takes an {nameof(AtDbTransaction)}; got {value.GetType().Name}.", nameof(value)),
            };
            WrappedCommand.Transaction = _transaction?.WrappedTransaction;
        }
    }

    /// <inheritdoc cref="DbCommand.Cancel()"/>
    public override void Cancel() => WrappedCommand.Cancel();

    /// <inheritdoc />
    protected override DbParameter CreateDbParameter() => WrappedCommand.CreateParameter();

    /// <inheritdoc cref="DbCommand.Prepare()"/>
    public override void Prepare() => WrappedCommand.Prepare();

    /// <inheritdoc cref="DbCommand.PrepareAsync(CancellationToken)"/>
    public override Task PrepareAsync(CancellationToken cancellationToken = default) => WrappedCommand.PrepareAsync(cancellationToken);

    /// <inheritdoc cref="DbCommand.ExecuteNonQuery()"/>
    public override int ExecuteNonQuery()
    {
        OpenOwnedConnection();
        return _connection is { } connection && Phase1Gateway.Intercepts && Blocking.Wait(() => Route(connection, CancellationToken.None)) is { } result
            ? result.RecordsAffected
            : WrappedCommand.ExecuteNonQuery();
    }

    /// <inheritdoc cref="DbCommand.ExecuteNonQueryAsync(CancellationToken)"/>
    public override async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken)
    {
        await OpenOwnedConnectionAsync(cancellationToken).ConfigureAwait(false);
        return _connection is { } connection && await Route(connection, cancellationToken).ConfigureAwait(false) is { } result
            ? result.RecordsAffected
            : await WrappedCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc cref="DbCommand.ExecuteScalar()"/>
    public override object? ExecuteScalar()
    {
        OpenOwnedConnection();
        return _connection is { } connection && Phase1Gateway.Intercepts && Blocking.Wait(() => Route(connection, CancellationToken.None)) is { } result
            ? result.Scalar()
            : WrappedCommand.ExecuteScalar();
    }

    /// <inheritdoc cref="DbCommand.ExecuteScalarAsync(CancellationToken)"/>
    public override async Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken)
    {
        await OpenOwnedConnectionAsync(cancellationToken).ConfigureAwait(false);
        return _connection is { } connection && await Route(connection, cancellationToken).ConfigureAwait(false) is { } result
            ? result.Scalar()
            : await WrappedCommand.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
    {
        OpenOwnedConnection();
        return _connection is { } connection && Phase1Gateway.Intercepts && Blocking.Wait(() => Route(connection, CancellationToken.None)) is { } result
            ? result.Reader(behavior, connection)
            : WrappedCommand.ExecuteReader(behavior);
    }

    /// <inheritdoc />
    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
    {
        await OpenOwnedConnectionAsync(cancellationToken).ConfigureAwait(false);
        return _connection is { } connection && await Route(connection, cancellationToken).ConfigureAwait(false) is { } result
            ? result.Reader(behavior, connection)
            : await WrappedCommand.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Disposes the wrapped command (and the connection of a data-source command) and raises
    /// <see cref="System.ComponentModel.Component.Disposed"/>.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing || _disposed)
        {
            return;
        }
        _disposed = true;
        WrappedCommand.Dispose();
        if (OwnsConnection)
        {
            _connection?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc cref="Dispose(bool)"/>
    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await WrappedCommand.DisposeAsync().ConfigureAwait(false);
            if (OwnsConnection && _connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
            }
            // The component part: raises Disposed, as a synchronous Dispose does.
            base.Dispose(disposing: true);
        }
        GC.SuppressFinalize(this);
    }

    // A data source's command opens its own connection when it first runs.
    private void OpenOwnedConnection()
    {
        if (OwnsConnection && _connection is { State: ConnectionState.Closed } connection)
        {
            connection.Open();
        }
    }

    private async Task OpenOwnedConnectionAsync(CancellationToken cancellationToken)
    {
        if (OwnsConnection && _connection is { State: ConnectionState.Closed } connection)
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private Task<ExecutionResult?> Route(AtDbConnection connection, CancellationToken cancellationToken)
    {
        var transaction = _transaction ?? connection.CurrentTransaction;
        return connection.Runtime.Phase1.RunAsync(WrappedCommand, connection.Resource, transaction is null ? null : transaction.BranchFor, cancellationToken);
    }
}
