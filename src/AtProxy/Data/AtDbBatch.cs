using System.Data;
using System.Data.Common;
using AtProxy.Phase1;
using AtProxy.Threading;

namespace AtProxy;

/// <summary>
/// The ADO.NET batch API on an <see cref="AtDbConnection"/>: inside a global transaction every
/// batch command goes through the phase-1 engine (an unwrapped batch would skip undo logging).
/// </summary>
public sealed class AtDbBatch : DbBatch
{
    private AtDbConnection? _connection;
    private AtDbTransaction? _transaction;

    internal AtDbBatch(DbBatch wrapped, AtDbConnection? connection)
    {
        WrappedBatch = wrapped;
        _connection = connection;
    }

    /// <summary>The batch this one wraps.</summary>
    public DbBatch WrappedBatch { get; }

    internal bool OwnsConnection { get; init; }

    /// <inheritdoc />
    protected override DbBatchCommandCollection DbBatchCommands => WrappedBatch.BatchCommands;

    /// <inheritdoc />
    public override int Timeout
    {
        get => WrappedBatch.Timeout;
        set => WrappedBatch.Timeout = value;
    }

    /// <inheritdoc />
    protected override DbConnection? DbConnection
    {
        get => _connection;
        set
        {
            _connection = value switch
            {
                null => null,
                AtDbConnection at => at,
                _ => throw new ArgumentException($"An {nameof(AtDbBatch)} runs only on an {nameof(AtDbConnection)}; got {value.GetType().Name}.", nameof(value)),
            };
            WrappedBatch.Connection = _connection?.WrappedConnection;
        }
    }

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
                _ => throw new ArgumentException($"An {nameof(AtDbBatch)} takes an {nameof(AtDbTransaction)}; got {value.GetType().Name}.", nameof(value)),
            };
            WrappedBatch.Transaction = _transaction?.WrappedTransaction;
        }
    }

    /// <inheritdoc />
    protected override DbBatchCommand CreateDbBatchCommand() => WrappedBatch.CreateBatchCommand();

    /// <inheritdoc cref="DbBatch.Cancel()"/>
    public override void Cancel() => WrappedBatch.Cancel();

    /// <inheritdoc cref="DbBatch.Prepare()"/>
    public override void Prepare() => WrappedBatch.Prepare();

    /// <inheritdoc cref="DbBatch.PrepareAsync(CancellationToken)"/>
    public override Task PrepareAsync(CancellationToken cancellationToken = default) => WrappedBatch.PrepareAsync(cancellationToken);

    /// <inheritdoc cref="DbBatch.ExecuteNonQuery()"/>
    public override int ExecuteNonQuery()
    {
        OpenOwnedConnection();
        return _connection is { } connection && Phase1Gateway.Intercepts && Blocking.Wait(() => Route(connection, CancellationToken.None)) is { } result
            ? result.RecordsAffected
            : WrappedBatch.ExecuteNonQuery();
    }

    /// <inheritdoc cref="DbBatch.ExecuteNonQueryAsync(CancellationToken)"/>
    public override async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken = default)
    {
        await OpenOwnedConnectionAsync(cancellationToken).ConfigureAwait(false);
        return _connection is { } connection && await Route(connection, cancellationToken).ConfigureAwait(false) is { } result
            ? result.RecordsAffected
            : await WrappedBatch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc cref="DbBatch.ExecuteScalar()"/>
    public override object? ExecuteScalar()
    {
        OpenOwnedConnection();
        return _connection is { } connection && Phase1Gateway.Intercepts && Blocking.Wait(() => Route(connection, CancellationToken.None)) is { } result
            ? result.Scalar()
            : WrappedBatch.ExecuteScalar();
    }

    /// <inheritdoc cref="DbBatch.ExecuteScalarAsync(CancellationToken)"/>
    public override async Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken = default)
    {
        await OpenOwnedConnectionAsync(cancellationToken).ConfigureAwait(false);
        return _connection is { } connection && await Route(connection, cancellationToken).ConfigureAwait(false) is { } result
            ? result.Scalar()
            : await WrappedBatch.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
    {
        OpenOwnedConnection();
        return _connection is { } connection && Phase1Gateway.Intercepts && Blocking.Wait(() => Route(connection, CancellationToken.None)) is { } result
            ? result.Reader(behavior, connection)
            : WrappedBatch.ExecuteReader(behavior);
    }

    /// <inheritdoc />
    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
    {
        await OpenOwnedConnectionAsync(cancellationToken).ConfigureAwait(false);
        return _connection is { } connection && await Route(connection, cancellationToken).ConfigureAwait(false) is { } result
            ? result.Reader(behavior, connection)
            : await WrappedBatch.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the wrapped batch (and the connection of a data-source batch).</summary>
    public override void Dispose()
    {
        WrappedBatch.Dispose();
        if (OwnsConnection)
        {
            _connection?.Dispose();
        }
        base.Dispose();
    }

    /// <summary>Disposes the wrapped batch (and the connection of a data-source batch).</summary>
    public override async ValueTask DisposeAsync()
    {
        await WrappedBatch.DisposeAsync().ConfigureAwait(false);
        if (OwnsConnection && _connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        GC.SuppressFinalize(this);
    }

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
        return connection.Runtime.Phase1.RunAsync(WrappedBatch, connection.Resource, transaction is null ? null : transaction.BranchFor, cancellationToken);
    }
}
