using System.Threading.Channels;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// Where a coordinator's changes to the shared store wait to be written: one queue, taken by
/// <see cref="Lanes"/> writer loops (<see cref="PostgresWriter"/>), each writing whatever waits
/// whenever its last batch committed. One lane alone would leave the database idle while the
/// coordinator prepares the next batch and the coordinator idle while the database writes; two
/// overlap them. Lanes need no coordination: a transaction has at most one change in flight here
/// (its calls take turns), and keys two lanes both claim are settled by the database like those
/// of two coordinators. Changes that are durable with the next one
/// (<see cref="PostgresWrite.DurableWithNext"/>) have a queue and a lane of their own, whose
/// commits do not wait for the database's WAL flush: in a batch of their own, they do not make a
/// begin wait for the flush that the registrations and decisions of other transactions need.
/// </summary>
internal sealed class PostgresGroupCommit : IAsyncDisposable
{
    /// <summary>Writer loops per coordinator.</summary>
    public const int Lanes = 2;

    private readonly Channel<PostgresWrite> _queue = Channel.CreateUnbounded<PostgresWrite>();
    private readonly Channel<PostgresWrite> _withNextQueue = Channel.CreateUnbounded<PostgresWrite>();
    private readonly PostgresWriter[] _writers;

    public PostgresGroupCommit(
        NpgsqlDataSource dataSource, string schema, PostgresLockStatements locks, string instanceId, long leaseMs, PostgresNotifications notifications, PostgresStoreStatistics statistics) =>
        _writers =
        [
            .. Enumerable.Range(0, Lanes).Select(_ => new PostgresWriter(_queue.Reader, dataSource, schema, locks, instanceId, leaseMs, notifications, statistics, waitsForFlush: true)),
            new PostgresWriter(_withNextQueue.Reader, dataSource, schema, locks, instanceId, leaseMs, notifications, statistics, waitsForFlush: false),
        ];

    /// <summary>Queues the change; the task ends when it committed or was refused.</summary>
    public Task<PostgresWriteOutcome> WriteAsync(PostgresWrite write)
    {
        var queue = write.DurableWithNext ? _withNextQueue : _queue;
        if (!queue.Writer.TryWrite(write))
        {
            write.Done.TrySetException(new StoreUnavailableException("The PostgreSQL store is closed: the change was not recorded."));
        }
        return write.Done.Task;
    }

    /// <summary>Stops taking changes, lets the queued ones be written, and closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _withNextQueue.Writer.TryComplete();
        foreach (var writer in _writers)
        {
            await writer.DisposeAsync();
        }
    }
}
