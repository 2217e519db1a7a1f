using System.Collections.Concurrent;
using AtProxy.Coordinator.Sessions;
using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;
using Npgsql;
using Xunit.Abstractions;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// Three coordinator processes on one PostgreSQL store, two resource managers streaming to all
/// of them, a thousand global transactions sent to them at random, two of them killed with
/// SIGKILL along the way: every transaction ends as decided, the banks' books balance, no key
/// was ever granted to two transactions at once, and nothing is left behind.
/// </summary>
public class MultiCoordinatorTests(ITestOutputHelper output)
{
    private const int Transactions = 1000;
    private const int Workers = 8;
    private const int Accounts = 25;
    private const long InitialBalance = 1_000_000;
    private const string Schema = "atproxy_coordinator";

    private sealed record Outcome(string Xid, bool Committed, List<(LedgerBank Bank, int Account, long Delta)> Applied);

    [Fact]
    public async Task Three_coordinators_on_one_postgres_store_two_killed_mid_run_every_transaction_ends_as_decided_and_no_lock_is_granted_twice()
    {
        var server = await PostgresServer.SharedAsync();
        await using var store = await server.CreateDatabaseAsync("tc_shared");
        await using var bank1 = await LedgerBank.CreateAsync("bank-1", Accounts, InitialBalance);
        await using var bank2 = await LedgerBank.CreateAsync("bank-2", Accounts, InitialBalance);
        var coordinators = new List<CoordinatorProcess>();
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                coordinators.Add(await CoordinatorProcess.StartAsync(Options(store.ConnectionString, $"tc-{i}")));
            }
            foreach (var coordinator in coordinators)
            {
                await bank1.ConnectAsync(coordinator.Channel);
                await bank2.ConnectAsync(coordinator.Channel);
            }

            var live = new List<CoordinatorProcess>(coordinators);
            var outcomes = new ConcurrentBag<Outcome>();
            var begunBy = new ConcurrentDictionary<string, int>();
            var done = 0;
            var next = 0;
            var conflicts = 0;

            async Task<T> CallAsync<T>(Func<CoordinatorProcess, Task<T>> call)
            {
                for (var attempt = 1; ; attempt++)
                {
                    CoordinatorProcess target;
                    lock (live)
                    {
                        target = live[Random.Shared.Next(live.Count)];
                    }
                    try
                    {
                        return await call(target);
                    }
                    catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
                        or StatusCode.Cancelled or StatusCode.DeadlineExceeded && attempt < 50)
                    {
                        // That coordinator died (or is dying): any other serves the same call.
                        await Task.Delay(50);
                    }
                }
            }

            async Task<long?> RegisterAsync(string xid, string resourceId, int account)
            {
                try
                {
                    var response = await CallAsync(c => new ResourceManager.ResourceManagerClient(c.Channel)
                        .RegisterAsync(xid, resourceId, $"account:{account}"));
                    if (response.Conflict is not null)
                    {
                        Assert.NotEqual(xid, response.Conflict.HolderXid);
                        Interlocked.Increment(ref conflicts);
                        return null;
                    }
                    return response.BranchId;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
                {
                    return null; // timed out meanwhile: it is being rolled back
                }
            }

            async Task RunOneAsync(Random random)
            {
                var xid = await CallAsync(c => new TransactionManager.TransactionManagerClient(c.Channel).BeginAsync("transfer", timeoutMs: 30_000));
                begunBy.AddOrUpdate(xid.Split(':')[0], 1, (_, n) => n + 1);
                var amount = random.Next(1, 100);
                var legs = new[] { (Bank: bank1, Account: random.Next(1, Accounts + 1), Delta: (long)-amount), (Bank: bank2, Account: random.Next(1, Accounts + 1), Delta: (long)amount) };
                var applied = new List<(LedgerBank, int, long)>();
                var phaseOneDone = true;
                foreach (var (bank, account, delta) in legs)
                {
                    var branch = await bank.PhaseOneAsync(xid, account, delta, () => RegisterAsync(xid, bank.ResourceId, account));
                    if (branch is null)
                    {
                        phaseOneDone = false;
                        break;
                    }
                    applied.Add((bank, account, delta));
                }
                var status = phaseOneDone && random.Next(4) != 0
                    ? await CallAsync(c => new TransactionManager.TransactionManagerClient(c.Channel).CommitAsync(xid))
                    : await CallAsync(c => new TransactionManager.TransactionManagerClient(c.Channel).RollbackAsync(xid));
                Assert.True(GlobalStatusRules.IsCommitDirection(status) || GlobalStatusRules.IsRollbackDirection(status), $"{xid} answered {status}");
                outcomes.Add(new Outcome(xid, GlobalStatusRules.IsCommitDirection(status), applied));
            }

            async Task KillAtAsync(int count, CoordinatorProcess victim)
            {
                await Eventually.TrueAsync(() => Volatile.Read(ref done) >= count, TimeSpan.FromMinutes(5), $"{count} transactions to finish");
                lock (live)
                {
                    live.Remove(victim);
                }
                victim.Kill(); // SIGKILL: its claims, streams and open database transactions die with it
            }

            var started = System.Diagnostics.Stopwatch.StartNew();
            var killer = Task.WhenAll(KillAtAsync(300, coordinators[0]), KillAtAsync(650, coordinators[1]));
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
            {
                var random = new Random(worker);
                while (Interlocked.Increment(ref next) <= Transactions)
                {
                    await RunOneAsync(random);
                    Interlocked.Increment(ref done);
                }
            })));
            await killer;
            output.WriteLine($"{Transactions} transactions in {started.Elapsed.TotalSeconds:0.0} s: {outcomes.Count(o => o.Committed)} committed, " +
                $"{outcomes.Count(o => !o.Committed)} rolled back, {conflicts} lock conflicts; begun by {string.Join(", ", begunBy.OrderBy(b => b.Key))}");

            Assert.Equal(Transactions, outcomes.Count);
            Assert.False(coordinators[0].IsRunning);
            Assert.False(coordinators[1].IsRunning);
            Assert.True(begunBy.Count == 3, $"every coordinator served: {string.Join(", ", begunBy)}");
            Assert.True(conflicts > 0, "the accounts overlap, so some registrations must have conflicted");

            await using var storeDb = NpgsqlDataSource.Create(store.ConnectionString);
            var ended = PostgresStatusList(GlobalStatusRules.IsEnded);
            await Eventually.TrueAsync(async () => await ScalarAsync(storeDb, $"SELECT count(*) FROM {Schema}.global_session WHERE status NOT IN ({ended})") == 0,
                TimeSpan.FromMinutes(2), "every transaction (also those begun on a coordinator that died) to end");

            // Every transaction ended as decided.
            var finals = await StatusesAsync(storeDb);
            foreach (var outcome in outcomes)
            {
                var final = finals[outcome.Xid];
                Assert.True(outcome.Committed ? final == GlobalStatus.Committed : final is GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked,
                    $"{outcome.Xid} was decided {(outcome.Committed ? "commit" : "rollback")} but ended {final}");
            }

            // The books: every committed transfer applied once, every rolled-back one undone, nothing half done.
            foreach (var bank in new[] { bank1, bank2 })
            {
                var expected = Enumerable.Range(1, Accounts).ToDictionary(a => a, _ => InitialBalance);
                foreach (var (_, account, delta) in outcomes.Where(o => o.Committed).SelectMany(o => o.Applied).Where(a => a.Bank == bank))
                {
                    expected[account] += delta;
                }
                Assert.Equal(expected.OrderBy(e => e.Key), (await bank.BalancesAsync()).OrderBy(e => e.Key));
                Assert.Equal(0, await bank.CountAsync("SELECT count(*) FROM undo"));
                Assert.Equal(0, await bank.CountAsync("SELECT count(*) FROM fence WHERE state = 'prepared'"));
            }
            Assert.True(outcomes.Count(o => o.Committed) > Transactions / 3, "most transactions commit");

            // The lock table's history: no key was ever held by two transactions at once, every grant was released.
            Assert.True(await ScalarAsync(storeDb, $"SELECT count(*) FROM {Schema}.lock_grant") > Transactions);
            Assert.Equal(0, await ScalarAsync(storeDb, $"""
                SELECT count(*) FROM {Schema}.lock_grant a JOIN {Schema}.lock_grant b
                  ON a.resource_id = b.resource_id AND a.table_name = b.table_name AND a.primary_key = b.primary_key
                 AND a.grant_id < b.grant_id AND a.xid <> b.xid
                 AND a.granted_at < coalesce(b.released_at, 'infinity') AND b.granted_at < coalesce(a.released_at, 'infinity')
                """));
            Assert.Equal(0, await ScalarAsync(storeDb, $"SELECT count(*) FROM {Schema}.lock_grant WHERE released_at IS NULL"));
            Assert.Equal(0, await ScalarAsync(storeDb, $"SELECT count(*) FROM {Schema}.global_lock"));
            Assert.Equal(0, await ScalarAsync(storeDb, $"SELECT count(*) FROM {Schema}.global_session WHERE claim_owner IS NOT NULL"));

            // The survivor sees the same: no lock held.
            var status = await new Protocol.V1.Admin.AdminClient(coordinators[2].Channel).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest());
            Assert.Equal(("postgres", 0L), (status.StoreKind, status.LocksHeld));
        }
        finally
        {
            foreach (var coordinator in coordinators)
            {
                await coordinator.DisposeAsync();
            }
        }
    }

    private static CoordinatorProcessOptions Options(string storeConnection, string nodeId)
    {
        var options = new CoordinatorProcessOptions { Store = "postgres" };
        options.Settings["Coordinator:StoreConnection"] = storeConnection;
        options.Settings["Coordinator:NodeId"] = nodeId;
        options.Settings["Coordinator:SweepIntervalMs"] = "50";
        options.Settings["Coordinator:RetryInitialDelayMs"] = "50";
        options.Settings["Coordinator:RetryMaxDelayMs"] = "500";
        options.Settings["Coordinator:BranchCommandTimeoutMs"] = "3000";
        options.Settings["Coordinator:LeaseMs"] = "2000";
        options.Settings["Coordinator:EndedRetentionMs"] = "600000";
        // The grant audit the end of the test reads: every grant and release, on the database clock.
        options.Settings["Coordinator:StoreLockAudit"] = "true";
        return options;
    }

    private static string PostgresStatusList(Func<GlobalStatus, bool> rule) =>
        string.Join(", ", Enum.GetValues<GlobalStatus>().Where(rule).Select(s => (int)s));

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<Dictionary<string, GlobalStatus>> StatusesAsync(NpgsqlDataSource dataSource)
    {
        var statuses = new Dictionary<string, GlobalStatus>(StringComparer.Ordinal);
        await using var command = dataSource.CreateCommand($"SELECT xid, status FROM {Schema}.global_session");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            statuses[reader.GetString(0)] = (GlobalStatus)reader.GetInt32(1);
        }
        return statuses;
    }
}
