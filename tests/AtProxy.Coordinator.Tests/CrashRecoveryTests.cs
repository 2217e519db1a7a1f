using AtProxy.Testing.Coordinator;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// The coordinator process is killed with SIGKILL while transactions are in flight and restarted
/// on the same data directory: each ends as its last durable transition implies.
/// </summary>
public class CrashRecoveryTests
{
    private const string Resource = "db";

    private enum Kind
    {
        Begun,              // undecided, long timeout: still BEGIN with its locks
        Committing,         // commit durable, branches not answered: COMMITTED after restart, locks free at once
        RollingBack,        // rollback durable, branches not answered: ROLLBACKED after restart, locks held until then
        Committed,          // ended before the crash
        Rollbacked,         // ended before the crash
        DirtyWrite,         // ROLLBACK_FAILED: stays so, locks held
        TimesOut,           // undecided, short timeout: TIMEOUT_ROLLBACKED after restart
    }

    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task Sigkill_fifty_transactions_in_mixed_states_each_ends_as_its_last_durable_transition_implies(string store)
    {
        var (options, database) = await DurableStores.ProcessOptionsAsync(store);
        await using var dropped = database;
        options.Settings["Coordinator:SweepIntervalMs"] = "50";
        options.Settings["Coordinator:RetryInitialDelayMs"] = "100";
        options.Settings["Coordinator:RetryMaxDelayMs"] = "500";
        options.Settings["Coordinator:BranchCommandTimeoutMs"] = "60000";
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
        var rm = new ResourceManager.ResourceManagerClient(coordinator.Channel);
        var admin = new Protocol.V1.Admin.AdminClient(coordinator.Channel);

        var plan = new List<Kind>();
        plan.AddRange(Enumerable.Repeat(Kind.Begun, 10));
        plan.AddRange(Enumerable.Repeat(Kind.Committing, 10));
        plan.AddRange(Enumerable.Repeat(Kind.RollingBack, 10));
        plan.AddRange(Enumerable.Repeat(Kind.Committed, 5));
        plan.AddRange(Enumerable.Repeat(Kind.Rollbacked, 5));
        plan.AddRange(Enumerable.Repeat(Kind.DirtyWrite, 5));
        plan.AddRange(Enumerable.Repeat(Kind.TimesOut, 5));

        // Before the crash the resource manager answers nothing for transactions that must stay in flight.
        var silent = new HashSet<string>();
        var dirtyBranches = new HashSet<long>();
        using var stopHanging = new CancellationTokenSource();
        var before = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", Resource);
        before.Script = async command =>
        {
            bool hang;
            lock (silent)
            {
                hang = silent.Contains(command.Xid);
            }
            if (hang)
            {
                await Task.Delay(Timeout.Infinite, stopHanging.Token);
            }
            lock (dirtyBranches)
            {
                return dirtyBranches.Contains(command.BranchId)
                    ? ScriptedResourceManager.Fail(command, retryable: false, "dirty write")
                    : ScriptedResourceManager.Succeed(command);
            }
        };

        // Long enough to be still BEGIN when the crash comes, even on a slow machine: every change is a
        // database round trip or more on the postgres store, and a flush to disk on the embedded one.
        var shortTimeoutMs = store == "postgres" ? 20_000u : 15_000u;
        var transactions = new List<(string Xid, Kind Kind, long[] Branches)>();
        for (var i = 0; i < plan.Count; i++)
        {
            var kind = plan[i];
            var xid = await tm.BeginAsync($"crash-{kind}", timeoutMs: kind == Kind.TimesOut ? shortTimeoutMs : 600_000u);
            var b1 = await rm.RegisterGrantedAsync(xid, Resource, $"t:{i}-a", $"t:{i}-b");
            var b2 = await rm.RegisterGrantedAsync(xid, Resource, $"u:{i}-a", $"u:{i}-b");
            transactions.Add((xid, kind, [b1, b2]));
            switch (kind)
            {
                case Kind.Committing:
                    lock (silent) { silent.Add(xid); }
                    Assert.Equal(GlobalStatus.AsyncCommitting, await tm.CommitAsync(xid));
                    break;
                case Kind.RollingBack:
                    lock (silent) { silent.Add(xid); }
                    // The decision is made durable first; then the call waits for phase 2, which waits on the silent
                    // resource manager. Stop waiting only once the decision is there: a call ended earlier may never make it.
                    using (var stopWaiting = new CancellationTokenSource())
                    {
                        using var rollback = tm.RollbackAsync(new RollbackRequest { Xid = xid }, cancellationToken: stopWaiting.Token);
                        await tm.WaitForStatusAsync(xid, GlobalStatus.Rollbacking);
                        Assert.False(rollback.ResponseAsync.IsCompleted, $"the rollback of {xid} answered before its branches did");
                        await stopWaiting.CancelAsync();
                        var stopped = await Assert.ThrowsAsync<RpcException>(() => rollback.ResponseAsync);
                        Assert.Equal(StatusCode.Cancelled, stopped.StatusCode);
                    }
                    break;
                case Kind.Committed:
                    await tm.CommitAsync(xid);
                    await tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
                    break;
                case Kind.Rollbacked:
                    Assert.Equal(GlobalStatus.Rollbacked, await tm.RollbackAsync(xid));
                    break;
                case Kind.DirtyWrite:
                    lock (dirtyBranches) { dirtyBranches.Add(b2); }
                    Assert.Equal(GlobalStatus.RollbackFailed, await tm.RollbackAsync(xid));
                    break;
            }
        }

        var expectedBeforeCrash = new Dictionary<Kind, GlobalStatus>
        {
            [Kind.Begun] = GlobalStatus.Begin,
            [Kind.Committing] = GlobalStatus.AsyncCommitting,
            [Kind.RollingBack] = GlobalStatus.Rollbacking,
            [Kind.Committed] = GlobalStatus.Committed,
            [Kind.Rollbacked] = GlobalStatus.Rollbacked,
            [Kind.DirtyWrite] = GlobalStatus.RollbackFailed,
            [Kind.TimesOut] = GlobalStatus.Begin,
        };
        foreach (var (xid, kind, _) in transactions)
        {
            Assert.Equal(expectedBeforeCrash[kind], await tm.StatusAsync(xid));
        }

        coordinator.Kill();
        await before.DisposeAsync();
        await stopHanging.CancelAsync();
        await coordinator.RestartAsync();

        // Recovered, before any resource manager is back: the durable statuses and the locks they imply.
        foreach (var (xid, kind, _) in transactions.Where(t => t.Kind != Kind.TimesOut))
        {
            var status = await tm.StatusAsync(xid);
            switch (kind)
            {
                case Kind.Committing:
                    Assert.True(status is GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying, $"{xid} ({kind}) is {status}");
                    break;
                case Kind.RollingBack:
                    Assert.True(status is GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying, $"{xid} ({kind}) is {status}");
                    break;
                default:
                    Assert.Equal(expectedBeforeCrash[kind], status);
                    break;
            }
            var expectedLocks = kind is Kind.Begun or Kind.RollingBack or Kind.DirtyWrite ? 4 : 0;
            Assert.Equal(expectedLocks, await admin.LockCountAsync(xid));
        }

        await using var after = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", Resource);
        after.Script = command => Task.FromResult(dirtyBranches.Contains(command.BranchId)
            ? ScriptedResourceManager.Fail(command, retryable: false, "dirty write")
            : ScriptedResourceManager.Succeed(command));

        var finalStatus = new Dictionary<Kind, GlobalStatus>
        {
            [Kind.Begun] = GlobalStatus.Begin,
            [Kind.Committing] = GlobalStatus.Committed,
            [Kind.RollingBack] = GlobalStatus.Rollbacked,
            [Kind.Committed] = GlobalStatus.Committed,
            [Kind.Rollbacked] = GlobalStatus.Rollbacked,
            [Kind.DirtyWrite] = GlobalStatus.RollbackFailed,
            [Kind.TimesOut] = GlobalStatus.TimeoutRollbacked,
        };
        foreach (var (xid, kind, branches) in transactions)
        {
            // A transaction that times out does so only once its timeout passed, which may be well after the restart.
            var wait = TimeSpan.FromSeconds(20) + (kind == Kind.TimesOut ? TimeSpan.FromMilliseconds(shortTimeoutMs) : TimeSpan.Zero);
            await tm.WaitForStatusAsync(xid, finalStatus[kind], wait);
            var expectedLocks = kind is Kind.Begun or Kind.DirtyWrite ? 4 : 0;
            Assert.Equal(expectedLocks, await admin.LockCountAsync(xid));
            var commands = after.Received.Where(c => c.Xid == xid).ToList();
            switch (kind)
            {
                case Kind.Committing:
                    Assert.Equal(branches.Order(), commands.Where(c => c.Action == BranchAction.Commit).Select(c => c.BranchId).Distinct().Order());
                    break;
                case Kind.RollingBack or Kind.TimesOut:
                    Assert.Equal(branches.Order(), commands.Where(c => c.Action == BranchAction.Rollback).Select(c => c.BranchId).Distinct().Order());
                    break;
                default:
                    Assert.Empty(commands); // nothing to do after the restart
                    break;
            }
        }

        // Undecided transactions are fully usable after the restart.
        foreach (var (xid, _, _) in transactions.Where(t => t.Kind == Kind.Begun))
        {
            Assert.Equal(GlobalStatus.AsyncCommitting, await tm.CommitAsync(xid));
            await tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
        }
        Assert.Equal(5 * 4, await admin.LockCountAsync());

        // New ids never repeat an id issued before the crash.
        var fresh = await tm.BeginAsync();
        Assert.DoesNotContain(fresh, transactions.Select(t => t.Xid));
        var freshBranch = await rm.RegisterGrantedAsync(fresh, Resource, "fresh:1");
        Assert.DoesNotContain(freshBranch, transactions.SelectMany(t => t.Branches));
    }

    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task Sigkill_under_load_every_acknowledged_change_survives(string store)
    {
        var (options, database) = await DurableStores.ProcessOptionsAsync(store);
        await using var dropped = database;
        options.Settings["Coordinator:SweepIntervalMs"] = "50";
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
        var rm = new ResourceManager.ResourceManagerClient(coordinator.Channel);
        var begun = new System.Collections.Concurrent.ConcurrentBag<string>();
        var registered = new System.Collections.Concurrent.ConcurrentBag<(string Xid, long Branch, string Key)>();
        var committed = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();

        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var xid = await tm.BeginAsync(timeoutMs: 600_000);
                    begun.Add(xid);
                    var key = $"t:{worker}-{i}";
                    var branch = await rm.RegisterGrantedAsync(xid, Resource, key);
                    registered.Add((xid, branch, key));
                    if (i % 2 == 0)
                    {
                        await tm.CommitAsync(xid);
                        committed.Add(xid);
                    }
                }
                catch (RpcException)
                {
                    return; // the coordinator is gone
                }
            }
        })).ToList();

        await Eventually.TrueAsync(() => committed.Count >= 150, TimeSpan.FromSeconds(30), "some load before the crash");
        coordinator.Kill();
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await coordinator.RestartAsync();

        // Whatever the coordinator acknowledged before it died is there after the restart, except a
        // begin that nothing acknowledged followed: a begin is answered before its own flush (its
        // first registration or decision waits for both), so the crash may take it — but never its XID.
        var committedSet = committed.ToHashSet();
        var registeredSet = registered.Select(r => r.Xid).ToHashSet();
        foreach (var xid in begun)
        {
            GlobalStatus status;
            try
            {
                status = await tm.StatusAsync(xid);
            }
            catch (RpcException lost) when (lost.StatusCode == StatusCode.NotFound && !registeredSet.Contains(xid) && !committedSet.Contains(xid))
            {
                continue;
            }
            if (committedSet.Contains(xid))
            {
                Assert.True(status is GlobalStatus.AsyncCommitting or GlobalStatus.CommitRetrying or GlobalStatus.Committed, $"{xid} was committed but is {status}");
            }
        }
        foreach (var (xid, branch, key) in registered.Where(r => !committedSet.Contains(r.Xid)))
        {
            var details = await new Protocol.V1.Admin.AdminClient(coordinator.Channel).GetTransactionAsync(new GetTransactionRequest { Xid = xid });
            Assert.Contains(details.Transaction.Branches, b => b.BranchId == branch);
            if (details.Transaction.Status == GlobalStatus.Begin)
            {
                Assert.Equal(xid, Assert.Single(details.Locks).Xid);
                var other = await tm.BeginAsync();
                Assert.Equal(xid, (await rm.RegisterAsync(other, Resource, key)).Conflict.HolderXid);
            }
        }
        var fresh = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => tm.BeginAsync()));
        Assert.Empty(fresh.Intersect(begun));
    }
}
