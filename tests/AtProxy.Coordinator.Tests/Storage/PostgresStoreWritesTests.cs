using System.Collections.Concurrent;
using AtProxy.Coordinator.Tests.Support;
using AtProxy.Protocol.V1;
using Npgsql;

namespace AtProxy.Coordinator.Tests.Storage;

/// <summary>
/// What the shared store leaves out of its writes: the branch rows a transaction's status implies
/// (a decision lets go of every branch's locks, COMMITTED or ROLLBACKED ends every branch) are not
/// updated, yet every coordinator reads the branches as they are; and without
/// <c>Coordinator:StoreLockAudit</c> no grant audit is written. Under concurrent transactions on
/// two coordinators every transaction ends as answered and nothing is left behind.
/// </summary>
public class PostgresStoreWritesTests
{
    private const string Schema = "atproxy_coordinator";

    [Fact]
    public async Task Decision_and_end_write_the_session_row_alone_and_a_restarted_or_other_coordinator_reads_the_branches_as_the_status_implies()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-a");
        await using var b = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-b", storeConnection: a.StoreConnection);
        await using var connection = new NpgsqlConnection(a.StoreConnection);
        await connection.OpenAsync();

        // Commit, with the resource manager holding its answers back: the decision is written, phase 2 waits for them.
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rm = await ScriptedResourceManager.ConnectAsync(a.Channel, "app", "orders", "stock");
        rm.Script = async command =>
        {
            await answer.Task;
            return ScriptedResourceManager.Succeed(command);
        };
        var committed = await a.Tm.BeginAsync();
        await a.Rm.RegisterGrantedAsync(committed, "orders", "o:1", "o:2");
        await a.Rm.RegisterGrantedAsync(committed, "stock", "s:1");
        Assert.Equal(GlobalStatus.AsyncCommitting, await a.Tm.CommitAsync(committed));
        await Eventually.TrueAsync(() => rm.Received.Count(c => c.Xid == committed) == 2, TimeSpan.FromSeconds(10), "both commit commands to be sent");

        // The branch rows are as registered; the decision let their locks go all the same.
        Assert.Equal([(BranchStatus.Registered, true), (BranchStatus.Registered, true)], await BranchRowsAsync(connection, committed));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_lock"));
        foreach (var coordinator in new[] { a, b })
        {
            var seen = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = committed });
            Assert.All(seen.Transaction.Branches, branch => Assert.Equal((BranchStatus.Registered, 0), (branch.Status, branch.LockCount)));
        }

        // The end, too, is written to the session row alone.
        answer.SetResult();
        await a.Tm.WaitForStatusAsync(committed, GlobalStatus.Committed, TimeSpan.FromSeconds(20));
        Assert.Equal([(BranchStatus.Registered, true), (BranchStatus.Registered, true)], await BranchRowsAsync(connection, committed));
        // Read by the other coordinator, and by this one after a restart (nothing cached): every branch committed, holding nothing.
        await a.RestartAsync();
        foreach (var coordinator in new[] { a, b })
        {
            var seen = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = committed });
            Assert.Equal(GlobalStatus.Committed, seen.Transaction.Status);
            Assert.All(seen.Transaction.Branches, branch => Assert.Equal((BranchStatus.PhaseTwoCommitted, 0, ""), (branch.Status, branch.LockCount, branch.LastError)));
        }

        // A rollback records each branch's rollback (it is not implied until the end); the end's release updates no branch row.
        await using var rmOnB = await ScriptedResourceManager.ConnectAsync(b.Channel, "app", "orders", "stock");
        var rolledBack = await a.Tm.BeginAsync();
        await a.Rm.RegisterGrantedAsync(rolledBack, "orders", "o:1");
        await b.Rm.RegisterGrantedAsync(rolledBack, "stock", "s:1");
        Assert.Equal(GlobalStatus.Rollbacked, await b.Tm.RollbackAsync(rolledBack));
        Assert.Equal([(BranchStatus.PhaseTwoRollbacked, true), (BranchStatus.PhaseTwoRollbacked, true)], await BranchRowsAsync(connection, rolledBack));
        var ended = await a.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = rolledBack });
        Assert.All(ended.Transaction.Branches, branch => Assert.Equal((BranchStatus.PhaseTwoRollbacked, 0), (branch.Status, branch.LockCount)));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_lock"));

        // No grant audit without Coordinator:StoreLockAudit.
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.lock_grant"));
    }

    [Fact]
    public async Task A_branch_that_failed_phase_one_keeps_its_own_row_and_the_others_locks_go_with_the_decision()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres");
        await using var rm = await ScriptedResourceManager.ConnectAsync(a.Channel, "app", "orders", "stock");
        await using var connection = new NpgsqlConnection(a.StoreConnection);
        await connection.OpenAsync();

        var xid = await a.Tm.BeginAsync();
        var failed = await a.Rm.RegisterGrantedAsync(xid, "orders", "o:1");
        await a.Rm.RegisterGrantedAsync(xid, "stock", "s:1");
        await a.Rm.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = failed, Status = BranchStatus.PhaseOneFailed });
        // Its locks went with its own record, written to its row.
        Assert.Equal([(BranchStatus.PhaseOneFailed, false), (BranchStatus.Registered, true)], await BranchRowsAsync(connection, xid));
        Assert.True((await a.Rm.CheckAsync(await a.Tm.BeginAsync(), "orders", "o:1")).Lockable);

        Assert.Contains(await a.Tm.CommitAsync(xid), new[] { GlobalStatus.AsyncCommitting, GlobalStatus.Committed });
        await a.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
        await a.RestartAsync();
        var seen = await a.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
        Assert.Equal(
            [(BranchStatus.PhaseOneFailed, 0), (BranchStatus.PhaseTwoCommitted, 0)],
            seen.Transaction.Branches.OrderBy(br => br.BranchId).Select(br => (br.Status, br.LockCount)).ToArray());
        Assert.DoesNotContain(rm.Received, c => c.BranchId == failed);
    }

    [Fact]
    public async Task Concurrent_transactions_on_two_coordinators_without_the_audit_end_as_answered_and_leave_no_lock_claim_or_audit_row()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-a");
        await using var b = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-b", storeConnection: a.StoreConnection);
        await using var rmA = await ScriptedResourceManager.ConnectAsync(a.Channel, "app", "db");
        await using var rmB = await ScriptedResourceManager.ConnectAsync(b.Channel, "app", "db");
        var coordinators = new[] { a, b };
        const int Transactions = 200;
        const int HotKeys = 10;

        var answered = new ConcurrentDictionary<string, GlobalStatus>();
        var conflicts = 0;
        await Task.WhenAll(Enumerable.Range(0, Transactions).Select(i => Task.Run(async () =>
        {
            InProcessCoordinator Any() => coordinators[Random.Shared.Next(coordinators.Length)];
            var xid = await Any().Tm.BeginAsync();
            var first = Random.Shared.Next(HotKeys);
            var second = (first + 1 + Random.Shared.Next(HotKeys - 1)) % HotKeys;
            var registered = await Any().Rm.RegisterAsync(xid, "db", $"t:{first}");
            var again = registered.Conflict is null ? await Any().Rm.RegisterAsync(xid, "db", $"t:{second}") : registered;
            if (registered.Conflict is not null || again.Conflict is not null)
            {
                Interlocked.Increment(ref conflicts);
                answered[xid] = await Any().Tm.RollbackAsync(xid);
            }
            else
            {
                answered[xid] = Random.Shared.Next(4) == 0 ? await Any().Tm.RollbackAsync(xid) : await Any().Tm.CommitAsync(xid);
            }
        })));

        Assert.Equal(Transactions, answered.Count);
        Assert.True(conflicts > 0, "the hot keys never conflicted: the test did not test what it is for");
        foreach (var (xid, status) in answered)
        {
            var end = status is GlobalStatus.AsyncCommitting or GlobalStatus.Committed ? GlobalStatus.Committed : GlobalStatus.Rollbacked;
            Assert.Contains(status, new[] { GlobalStatus.AsyncCommitting, GlobalStatus.Committed, GlobalStatus.Rollbacked });
            await a.Tm.WaitForStatusAsync(xid, end, TimeSpan.FromSeconds(30));
            // Read by the other coordinator too: every branch ended the way its transaction did, holding nothing.
            var seen = await b.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
            var branchEnd = end == GlobalStatus.Committed ? BranchStatus.PhaseTwoCommitted : BranchStatus.PhaseTwoRollbacked;
            Assert.All(seen.Transaction.Branches, branch => Assert.Equal((branchEnd, 0), (branch.Status, branch.LockCount)));
        }

        await using var connection = new NpgsqlConnection(a.StoreConnection);
        await connection.OpenAsync();
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_lock"));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_session WHERE claim_owner IS NOT NULL"));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.lock_grant"));
        Assert.Equal(0, await a.Admin.LockCountAsync());
    }

    [Fact]
    public async Task A_registration_touches_only_its_session_rows_version_and_its_time_still_counts_as_the_last_update_when_read()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-a");
        await using var b = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-b", storeConnection: a.StoreConnection);
        await using var connection = new NpgsqlConnection(a.StoreConnection);
        await connection.OpenAsync();

        var xid = await a.Tm.BeginAsync();
        var begun = (await b.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.LastUpdateUnixMs;
        await Task.Delay(20); // a registration time after the begin's
        await a.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        var rowLastUpdate = await ScalarAsync(connection, $"SELECT last_update_unix_ms FROM {Schema}.global_session WHERE xid = '{xid}'");
        var registered = await ScalarAsync(connection, $"SELECT registered_unix_ms FROM {Schema}.branch_session WHERE xid = '{xid}'");
        Assert.Equal(begun, rowLastUpdate);
        Assert.True(registered > begun, $"registered at {registered}, begun at {begun}");

        // The coordinator that wrote it, and another one reading the rows, both say the registration was the last update.
        Assert.Equal(registered, (await a.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.LastUpdateUnixMs);
        Assert.Equal(registered, (await b.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.LastUpdateUnixMs);
        // A decision writes the session's last update as the coordinator knows it.
        await b.Tm.RollbackAsync(xid);
        Assert.True(await ScalarAsync(connection, $"SELECT last_update_unix_ms FROM {Schema}.global_session WHERE xid = '{xid}'") >= registered);
    }

    [Fact]
    public async Task Purge_of_concurrently_ended_transactions_takes_their_branches_and_history_and_leaves_the_open_ones_whole()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:EndedRetentionMs"] = "300");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        await using var connection = new NpgsqlConnection(coordinator.StoreConnection);
        await connection.OpenAsync();
        // Stopped with its locks held (a dirty write): branches and history, never purged.
        var stoppedXid = "";
        rm.Script = command => Task.FromResult(command.Xid == stoppedXid
            ? ScriptedResourceManager.Fail(command, retryable: false, "dirty write")
            : ScriptedResourceManager.Succeed(command));
        var open = await coordinator.Tm.BeginAsync("kept-open", timeoutMs: 120_000);
        await coordinator.Rm.RegisterGrantedAsync(open, "db", "t:open");
        stoppedXid = await coordinator.Tm.BeginAsync("stopped", timeoutMs: 120_000);
        await coordinator.Rm.RegisterGrantedAsync(stoppedXid, "db", "t:stopped");
        await coordinator.Tm.RollbackAsync(stoppedXid);
        await coordinator.Tm.WaitForStatusAsync(stoppedXid, GlobalStatus.RollbackFailed);

        var ended = await Task.WhenAll(Enumerable.Range(0, 90).Select(async i =>
        {
            var xid = await coordinator.Tm.BeginAsync($"t{i}");
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"a:{i}");
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"b:{i}");
            _ = i % 2 == 0 ? await coordinator.Tm.CommitAsync(xid) : await coordinator.Tm.RollbackAsync(xid);
            return xid;
        }));
        foreach (var xid in ended)
        {
            await Eventually.TrueAsync(async () => await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_session WHERE xid = '{xid}'") == 0,
                TimeSpan.FromSeconds(30), $"{xid} to be purged");
        }

        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.branch_session b WHERE NOT EXISTS (SELECT FROM {Schema}.global_session g WHERE g.xid = b.xid)"));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.transition t WHERE NOT EXISTS (SELECT FROM {Schema}.global_session g WHERE g.xid = t.xid)"));
        Assert.Equal(1L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.branch_session WHERE xid = '{open}'"));
        Assert.Equal(1L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.branch_session WHERE xid = '{stoppedXid}'"));
        Assert.True(await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.transition WHERE xid = '{stoppedXid}'") >= 2);
        var stopped = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = stoppedXid });
        Assert.Equal((GlobalStatus.RollbackFailed, 1), (stopped.Transaction.Status, stopped.Transaction.Branches[0].LockCount));
    }

    /// <summary>What schema version 4 changed, as versions 1 to 3 had it: for tests that set up an older store.</summary>
    public const string Version3Constraints = $"""
        ALTER TABLE {Schema}.branch_session ADD CONSTRAINT branch_session_xid_fkey FOREIGN KEY (xid) REFERENCES {Schema}.global_session (xid) ON DELETE CASCADE;
        ALTER TABLE {Schema}.transition ADD CONSTRAINT transition_xid_fkey FOREIGN KEY (xid) REFERENCES {Schema}.global_session (xid) ON DELETE CASCADE;
        ALTER TABLE {Schema}.global_session RESET (fillfactor);
        """;

    [Fact]
    public async Task A_store_at_schema_version_3_is_upgraded_to_4_without_foreign_keys_and_with_room_on_session_pages_and_keeps_its_transactions()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:EndedRetentionMs"] = "300");
        await using var connection = new NpgsqlConnection(coordinator.StoreConnection);
        await connection.OpenAsync();
        var xid = await coordinator.Tm.BeginAsync(timeoutMs: 120_000);
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1");
        await using (var downgrade = new NpgsqlCommand($"{Version3Constraints} DELETE FROM {Schema}.schema_version WHERE version = 4", connection))
        {
            await downgrade.ExecuteNonQueryAsync();
        }
        Assert.Equal(2L, await ForeignKeysAsync(connection));

        await coordinator.RestartAsync();

        Assert.Equal(4L, await ScalarAsync(connection, $"SELECT max(version) FROM {Schema}.schema_version"));
        Assert.Equal(0L, await ForeignKeysAsync(connection));
        Assert.Equal(1L, await ScalarAsync(connection,
            $"SELECT count(*) FROM pg_class WHERE oid = '{Schema}.global_session'::regclass AND 'fillfactor=75' = ANY (reloptions)"));
        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(xid));
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(xid));
        // Ended and purged: its branch and history go with it.
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.RollbackAsync(xid));
        await Eventually.TrueAsync(async () => await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.global_session WHERE xid = '{xid}'") == 0,
            TimeSpan.FromSeconds(30), $"{xid} to be purged");
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.branch_session WHERE xid = '{xid}'"));
        Assert.Equal(0L, await ScalarAsync(connection, $"SELECT count(*) FROM {Schema}.transition WHERE xid = '{xid}'"));
    }

    private static Task<long> ForeignKeysAsync(NpgsqlConnection connection) => ScalarAsync(connection,
        $"SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = '{Schema}' AND c.contype = 'f'");

    private static async Task<(BranchStatus Status, bool LocksHeld)[]> BranchRowsAsync(NpgsqlConnection connection, string xid)
    {
        await using var command = new NpgsqlCommand($"SELECT status, locks_held FROM {Schema}.branch_session WHERE xid = $1 ORDER BY branch_id", connection)
        {
            Parameters = { new() { Value = xid } },
        };
        var rows = new List<(BranchStatus, bool)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(((BranchStatus)reader.GetInt32(0), reader.GetBoolean(1)));
        }
        return [.. rows];
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
