using AtProxy.Coordinator.Alerts;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// Alert leadership on the shared store: the coordinator holding a session-level advisory lock,
/// named after the store's schema, on a connection of its own. The database lets go of the lock the
/// moment that connection ends, so when the leader dies (its socket closes) the next pass of another
/// coordinator takes over. A database without advisory locks (some PostgreSQL-compatible ones) makes
/// every coordinator a leader: each then notifies the store-wide alerts, as a lone one would.
/// </summary>
internal sealed partial class PostgresAlertLeadership(string connectionString, string schema, ILogger<PostgresAlertLeadership> logger)
    : IAlertLeadership, IAsyncDisposable
{
    // A connection of its own, never pooled: a pooled one handed back would keep the lock held
    // on a physical connection nobody watches.
    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;

    // The first key of the two-key advisory lock; the second is the schema's hash, so stores in
    // different schemas of one database elect their leaders apart.
    private const int LockClass = 0x41_74_50_41; // "AtPA"

    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _connection;
    private bool _holds;
    private bool _noAdvisoryLocks;

    public async Task<bool> LeadsAsync(CancellationToken cancellationToken)
    {
        if (_noAdvisoryLocks)
        {
            return true;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is null)
            {
                _connection = new NpgsqlConnection(_connectionString);
                await _connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                _holds = false;
            }
            var held = _holds;
            // While held, the query proves the connection (and so the lock) is still there.
            await using var command = new NpgsqlCommand(
                _holds ? "SELECT true" : "SELECT pg_try_advisory_lock(@class, hashtext(@schema))", _connection);
            command.Parameters.AddWithValue("class", LockClass);
            command.Parameters.AddWithValue("schema", schema);
            _holds = (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            if (_holds && !held)
            {
                LogLeads(logger, schema);
            }
            return _holds;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedFunction)
        {
            _noAdvisoryLocks = true;
            LogNoAdvisoryLocks(logger);
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The connection broke: whatever it held is gone. Not leading until a new one gets the lock.
            await DropConnectionAsync().ConfigureAwait(false);
            LogLost(logger, ex);
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
        _holds = false;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await DropConnectionAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "This coordinator now notifies the store-wide alerts (unfinished transactions) of store schema {Schema}.")]
    private static partial void LogLeads(ILogger logger, string schema);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The store's database has no advisory locks: every coordinator sharing it notifies the unfinished-transaction alerts.")]
    private static partial void LogNoAdvisoryLocks(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection that decides which coordinator notifies the store-wide alerts failed; trying again at the next alert pass.")]
    private static partial void LogLost(ILogger logger, Exception exception);
}
