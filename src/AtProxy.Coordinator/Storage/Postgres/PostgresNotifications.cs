using AtProxy.Coordinator.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// Wake-ups between the coordinators sharing the store, over LISTEN/NOTIFY: a batch that let go
/// of global locks notifies <see cref="LocksChannel"/> and every coordinator's waiting lock
/// checks look again; a change that makes a phase-2 attempt due now notifies
/// <see cref="PhaseTwoChannel"/> and every coordinator sweeps at once. A notification is sent by
/// the committing transaction, so it is delivered only after the change is visible. One
/// connection per coordinator listens; while it cannot (the database has no LISTEN/NOTIFY, or
/// the connection is down and being re-opened), <see cref="IsListening"/> is false and waiters poll.
/// </summary>
internal sealed class PostgresNotifications : IAsyncDisposable
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _instanceId;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _locksReleased = NewSignal();
    private Task _loop = Task.CompletedTask;
    private volatile bool _listening;
    private volatile bool _unsupported;

    public PostgresNotifications(NpgsqlDataSource dataSource, string schema, string instanceId, ILogger logger)
    {
        _dataSource = dataSource;
        _instanceId = instanceId;
        _logger = logger;
        // The schema (validated: at most 63 lower-case letters, digits, '_') makes the channels this store's own.
        LocksChannel = Channel("atproxy_locks_", schema);
        PhaseTwoChannel = Channel("atproxy_due_", schema);
    }

    /// <summary>Notified after a commit that released global locks; the payload is the releasing instance.</summary>
    public string LocksChannel { get; }

    /// <summary>Notified after a commit that made a phase-2 attempt due now; the payload is the instance.</summary>
    public string PhaseTwoChannel { get; }

    /// <summary>True while this coordinator listens: a release anywhere wakes its waiters.</summary>
    public bool IsListening => _listening;

    /// <summary>False once the database refused LISTEN: batches send no notifications either.</summary>
    public bool CanNotify => !_unsupported;

    /// <summary>Another coordinator made a phase-2 attempt due now (or listening (re)started: something may have been missed).</summary>
    public event Action? PhaseTwoDue;

    /// <summary>Completes at the next release of locks seen here (this coordinator's own, or another's notification).</summary>
    public Task NextLocksReleasedAsync() => Volatile.Read(ref _locksReleased).Task;

    /// <summary>Wakes every waiter of <see cref="NextLocksReleasedAsync"/>.</summary>
    public void SignalLocksReleased() => Interlocked.Exchange(ref _locksReleased, NewSignal()).TrySetResult();

    public NpgsqlBatchCommand NotifyLocksReleased() => Notify(LocksChannel);

    public NpgsqlBatchCommand NotifyPhaseTwoDue() => Notify(PhaseTwoChannel);

    /// <summary>Starts listening in the background.</summary>
    public void Start() => _loop = Task.Run(ListenAsync);

    private NpgsqlBatchCommand Notify(string channel) =>
        new("SELECT pg_notify($1, $2)") { Parameters = { new() { Value = channel }, new() { Value = _instanceId } } };

    private async Task ListenAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(_stop.Token);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand($"LISTEN {LocksChannel}; LISTEN {PhaseTwoChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(_stop.Token);
                }
                _listening = true;
                // Whatever happened while nobody listened: waiters and the sweep look again.
                SignalLocksReleased();
                PhaseTwoDue?.Invoke();
                while (true)
                {
                    await connection.WaitAsync(_stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.FeatureNotSupported or PostgresErrorCodes.SyntaxError)
            {
                _listening = false;
                _unsupported = true;
                Log.PostgresListenUnsupported(_logger, ex.MessageText);
                return;
            }
            catch (Exception ex)
            {
                _listening = false;
                Log.PostgresListenFailed(_logger, ex);
                try
                {
                    await Task.Delay(ReconnectDelay, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            finally
            {
                _listening = false;
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (e.Payload == _instanceId)
        {
            return; // this coordinator woke its own waiters at commit already
        }
        if (e.Channel == LocksChannel)
        {
            SignalLocksReleased();
        }
        else if (e.Channel == PhaseTwoChannel)
        {
            PhaseTwoDue?.Invoke();
        }
    }

    private static string Channel(string prefix, string schema) => (prefix + schema)[..Math.Min(63, prefix.Length + schema.Length)];

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
