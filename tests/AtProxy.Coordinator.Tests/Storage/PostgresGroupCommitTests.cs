using System.Collections.Concurrent;
using AtProxy.Coordinator.Storage.Postgres;
using AtProxy.Coordinator.Tests.Support;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using Npgsql;

namespace AtProxy.Coordinator.Tests.Storage;

/// <summary>
/// The shared store's group commit and wake-ups, with two coordinators in this process on one
/// database: concurrent calls share database transactions, a call that raced another
/// coordinator on the same transaction is refused whole and run again, no key is ever granted
/// to two transactions, and a release or a due attempt on one coordinator wakes the other
/// without it polling.
/// </summary>
public class PostgresGroupCommitTests
{
    private const string Schema = "atproxy_coordinator";

    [Fact]
    public async Task Concurrent_calls_on_two_coordinators_share_commits_every_transaction_ends_as_answered_and_no_key_is_granted_twice()
    {
        // With the grant audit (read at the end): every grant and release, on the database clock.
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => (s["Coordinator:NodeId"], s["Coordinator:StoreLockAudit"]) = ("tc-a", "true"));
        await using var b = await InProcessCoordinator.StartAsync("postgres", s => (s["Coordinator:NodeId"], s["Coordinator:StoreLockAudit"]) = ("tc-b", "true"), storeConnection: a.StoreConnection);
        await using var rmA = await ScriptedResourceManager.ConnectAsync(a.Channel, "app", "db");
        await using var rmB = await ScriptedResourceManager.ConnectAsync(b.Channel, "app", "db");
        var coordinators = new[] { a, b };
        const int Transactions = 240;
        const int HotKeys = 12; // few keys, many transactions: registrations conflict, and batches hold rivals for one key

        var answered = new ConcurrentDictionary<string, GlobalStatus>();
        var conflicts = 0;
        await Task.WhenAll(Enumerable.Range(0, Transactions).Select(i => Task.Run(async () =>
        {
            // Every call of a transaction may go to either coordinator: their cached sessions go stale under each other.
            InProcessCoordinator Any() => coordinators[Random.Shared.Next(coordinators.Length)];
            var xid = await Any().Tm.BeginAsync();
            var first = Random.Shared.Next(HotKeys);
            var second = (first + 1 + Random.Shared.Next(HotKeys - 1)) % HotKeys;
            var registered = await Any().Rm.RegisterAsync(xid, "db", $"t:{first}", $"t:{second}");
            if (registered.Conflict is not null)
            {
                Interlocked.Increment(ref conflicts);
                answered[xid] = await Any().Tm.RollbackAsync(xid);
            }
            else
            {
                answered[xid] = await Any().Tm.CommitAsync(xid);
            }
        })));

        Assert.Equal(Transactions, answered.Count);
        Assert.True(conflicts > 0, "the hot keys never conflicted: the test did not test what it is for");
        foreach (var (xid, status) in answered)
        {
            var ended = status is GlobalStatus.AsyncCommitting or GlobalStatus.Committed ? GlobalStatus.Committed : GlobalStatus.Rollbacked;
            Assert.Contains(status, new[] { GlobalStatus.AsyncCommitting, GlobalStatus.Committed, GlobalStatus.Rollbacked });
            await a.Tm.WaitForStatusAsync(xid, ended, TimeSpan.FromSeconds(30));
        }

        // Concurrent changes went to the database together: fewer commits than changes on each coordinator.
        foreach (var coordinator in coordinators)
        {
            var statistics = ((PostgresCoordinatorStore)coordinator.StoreInstance).Statistics;
            Assert.True(statistics.Changes > statistics.Commits, $"{statistics.Changes} changes in {statistics.Commits} commits: nothing was grouped");
        }
        // A conflict is only ever found by judging a batch whose guard refused it.
        Assert.True(coordinators.Sum(c => ((PostgresCoordinatorStore)c.StoreInstance).Statistics.JudgedBatches) > 0, "no batch was judged, yet registrations conflicted");

        await using var connection = new NpgsqlConnection(a.StoreConnection);
        await connection.OpenAsync();
        Assert.Equal(0L, await ScalarAsync(connection, $"""
            SELECT count(*) FROM {Schema}.lock_grant x JOIN {Schema}.lock_grant y
              ON x.resource_id = y.resource_id AND x.table_name = y.table_name AND x.primary_key = y.primary_key
             AND x.grant_id < y.grant_id AND x.xid <> y.xid
             AND x.granted_at < coalesce(y.released_at, 'infinity') AND y.granted_at < coalesce(x.released_at, 'infinity')
            """));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_lock"));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_session WHERE claim_owner IS NOT NULL"));
        // Every registration answered as granted is a branch of its transaction, and no refused one is.
        Assert.Equal((long)(Transactions - conflicts), await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.branch_session"));

        // Without rivals every batch is written in one round trip: its guard holds, nothing is judged.
        // (Under the hot keys above a coordinator may well have judged every batch it wrote.)
        foreach (var (coordinator, index) in coordinators.Select((c, i) => (c, i)))
        {
            var statistics = ((PostgresCoordinatorStore)coordinator.StoreInstance).Statistics;
            var (commitsBefore, judgedBefore) = (statistics.Commits, statistics.JudgedBatches);
            var xid = await coordinator.Tm.BeginAsync();
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"alone:{index}");
            await coordinator.Tm.CommitAsync(xid);
            await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
            Assert.True(statistics.Commits > commitsBefore, "the uncontended transaction was written");
            Assert.Equal(judgedBefore, statistics.JudgedBatches);
        }
    }

    [Fact]
    public async Task Begins_and_branch_rollbacks_commit_without_waiting_for_the_flush_registrations_and_decisions_wait_and_another_coordinator_sees_each_at_once()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-a");
        await using var b = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-b", storeConnection: a.StoreConnection);
        await using var rm = await ScriptedResourceManager.ConnectAsync(a.Channel, "app", "orders", "stock");
        var onA = ((PostgresCoordinatorStore)a.StoreInstance).Statistics;
        var onB = ((PostgresCoordinatorStore)b.StoreInstance).Statistics;

        var xid = await a.Tm.BeginAsync();
        Assert.Equal(1L, onA.CommitsWithoutFlushWait);
        // Committed without the flush, the begin is visible at once: another coordinator registers on it.
        await b.Rm.RegisterGrantedAsync(xid, "orders", "o:1");
        await b.Rm.RegisterGrantedAsync(xid, "stock", "s:1");
        Assert.Equal((2L, 0L), (onB.Commits, onB.CommitsWithoutFlushWait));

        var unflushedBefore = onA.CommitsWithoutFlushWait;
        var waitedBefore = onA.Commits - unflushedBefore;
        Assert.Equal(GlobalStatus.Rollbacked, await a.Tm.RollbackAsync(xid));
        // Each branch's rollback was recorded without a flush of its own; the decision and the end waited.
        Assert.True(onA.CommitsWithoutFlushWait - unflushedBefore >= 2, $"{onA.CommitsWithoutFlushWait - unflushedBefore} branch rollbacks written by the with-next lane");
        Assert.True(onA.Commits - onA.CommitsWithoutFlushWait - waitedBefore >= 2, "the decision and the end did not wait for the flush");
        Assert.Equal(GlobalStatus.Rollbacked, await b.Tm.StatusAsync(xid));
        Assert.Equal(0, await b.Admin.LockCountAsync());
    }

    [Fact]
    public async Task A_release_on_one_coordinator_wakes_a_lock_check_waiting_on_another_without_polling()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-a");
        // No sweeps on b while it waits: every round trip it makes is the waiting check's.
        await using var b = await InProcessCoordinator.StartAsync("postgres", s =>
        {
            s["Coordinator:NodeId"] = "tc-b";
            s["Coordinator:SweepIntervalMs"] = "600000";
        }, storeConnection: a.StoreConnection);
        var store = (PostgresCoordinatorStore)b.StoreInstance;
        await Eventually.TrueAsync(() => store.IsListening, null, "b listening for the other coordinators' releases");
        // Starting to listen wakes b's sweep once (whatever happened while nobody listened): on a loaded
        // machine that pass can run late, inside the wait measured below. Let it finish first.
        await Eventually.TrueAsync(async () =>
        {
            var seen = store.Statistics.RoundTrips;
            await Task.Delay(300);
            return store.Statistics.RoundTrips == seen;
        }, null, "b's sweep woken by listening to be done");
        var holder = await a.Tm.BeginAsync();
        await a.Rm.RegisterGrantedAsync(holder, "db", "t:1");

        var released = store.NextLocksReleasedAsync();
        var before = store.Statistics.RoundTrips;
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        var check = b.Rm.CheckLocksAsync(new CheckLocksRequest { ResourceId = "db", LockKeys = { CoordinatorClientExtensions.Key("t:1") }, WaitMs = 10_000 }).ResponseAsync;
        await Never.WithinAsync(() => check.IsCompleted, TimeSpan.FromMilliseconds(800), "the lock check answered", "its key is held until the holder's decision");
        var whileWaiting = store.Statistics.RoundTrips - before;
        // The check, the look after subscribing, and a look of the safety net per second begun (a
        // loaded machine stretches the 800 ms); polling every 20 ms would take about 40.
        var safetyNetLooks = (int)Math.Ceiling(waiting.Elapsed.TotalSeconds);
        Assert.True(whileWaiting <= 2 + safetyNetLooks, $"b made {whileWaiting} round trips in {waiting.ElapsedMilliseconds} ms of waiting");
        Assert.False(released.IsCompleted);

        Assert.Equal(GlobalStatus.AsyncCommitting, await a.Tm.CommitAsync(holder)); // the decision lets go of the locks
        await released.WaitAsync(Eventually.DefaultTimeout); // a's notification reached b
        var answer = await check.WaitAsync(Eventually.DefaultTimeout);
        Assert.True(answer.Lockable);
    }

    [Fact]
    public async Task An_attempt_made_due_on_one_coordinator_wakes_the_sweep_of_another()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s =>
        {
            s["Coordinator:NodeId"] = "tc-a";
            InProcessCoordinator.RetryAfterAMinute(s);
        });
        await using var b = await InProcessCoordinator.StartAsync("postgres", s =>
        {
            s["Coordinator:NodeId"] = "tc-b";
            InProcessCoordinator.RetryAfterAMinute(s);
        }, storeConnection: a.StoreConnection);
        var store = (PostgresCoordinatorStore)b.StoreInstance;
        await Eventually.TrueAsync(() => store.IsListening, null, "b listening for the other coordinators' wake-ups");
        var xid = await a.Tm.BeginAsync();
        await a.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        Assert.Equal(GlobalStatus.AsyncCommitting, await a.Tm.CommitAsync(xid));
        await a.Tm.WaitForStatusAsync(xid, GlobalStatus.CommitRetrying); // no resource manager: the next attempt is a minute away

        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.PhaseTwoDue += () => woken.TrySetResult();
        await a.Admin.RetryAsync(new InterveneRequest { Xid = xid, Reason = "the resource manager is back" });
        await woken.Task.WaitAsync(Eventually.DefaultTimeout);
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
