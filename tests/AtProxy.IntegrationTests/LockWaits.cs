using System.Collections.Concurrent;
using System.Diagnostics;
using AtProxy.Diagnostics;
using AtProxy.Testing;
using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// Shows that a global transaction is really waiting for a global lock, so that a test can assert it
/// is still blocked without sleeping first: a write's phase 1 refused with a lock conflict (from
/// AtProxy's own "atproxy.branch.phase1" spans), or a <c>SELECT ... FOR UPDATE</c> that gave its
/// row locks back to wait for the global lock (from <c>pg_stat_activity</c>).
/// </summary>
public sealed class LockWaits : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<string, int> _refused = new(StringComparer.Ordinal);

    public LockWaits()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == AtProxyTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.OperationName == "atproxy.branch.phase1" && activity.Status == ActivityStatusCode.Error &&
                    activity.GetTagItem(AtProxyTelemetry.XidTag) is string xid &&
                    activity.Events.Any(e => e.Name == "exception" && e.Tags.Any(t => t.Key == "exception.type" && t.Value as string == typeof(GlobalLockConflictException).FullName)))
                {
                    _refused.AddOrUpdate(xid, 1, (_, n) => n + 1);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Waits until a phase 1 of <paramref name="xid"/> was refused because another transaction holds a global lock.</summary>
    public Task RefusedAsync(Func<string?> xid) =>
        Eventually.TrueAsync(() => xid() is { } x && _refused.ContainsKey(x), TimeSpan.FromSeconds(20),
            $"a phase 1 of {xid() ?? "the waiting transaction"} to be refused for a global lock held by another transaction");

    /// <summary>
    /// Waits until a session of the database has given its row locks back to wait for a global lock
    /// (the savepoint of the <c>SELECT ... FOR UPDATE</c> wait rolled back and released) and sits idle
    /// in its transaction: the wait is with the coordinator.
    /// </summary>
    public static Task SelectForUpdateWaitingAsync(string connectionString) =>
        Eventually.TrueAsync(async () =>
        {
            await using var connection = new NpgsqlConnection(connectionString);
            return await connection.ExecuteScalarAsync<bool>("""
                SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                               WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'
                                 AND query IN ('ROLLBACK TO SAVEPOINT __atp_select_for_update', 'RELEASE SAVEPOINT __atp_select_for_update'))
                """);
        }, TimeSpan.FromSeconds(20), "a SELECT ... FOR UPDATE to wait for a global lock with its row locks given back");

    public void Dispose() => _listener.Dispose();
}
