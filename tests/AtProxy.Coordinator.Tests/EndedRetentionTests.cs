using Microsoft.Extensions.DependencyInjection;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Embedded;
using AtProxy.Coordinator.Storage.Records;
using Grpc.Core;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// Ended transactions are kept for their retention and then purged, oldest first, while
/// transactions under way are never purged and stay visible to the background loop.
/// </summary>
public sealed class EndedRetentionTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"atproxy-retention-test-{Guid.NewGuid().ToString("N")[..12]}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Sweep_concurrent_transactions_purges_every_ended_one_after_its_retention_and_nothing_else(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store, settings => settings["Coordinator:EndedRetentionMs"] = "300");
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var undecided = await coordinator.Tm.BeginAsync("kept-open", timeoutMs: 120_000);
        await coordinator.Rm.RegisterGrantedAsync(undecided, "db", "t:open");

        // Committed, rolled back, and ended without branches, 40 of each kind at once.
        var ended = await Task.WhenAll(Enumerable.Range(0, 120).Select(async i =>
        {
            var xid = await coordinator.Tm.BeginAsync($"t{i}");
            if (i % 3 != 2)
            {
                await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}");
            }
            if (i % 3 == 1)
            {
                await coordinator.Tm.RollbackAsync(xid);
            }
            else
            {
                await coordinator.Tm.CommitAsync(xid);
            }
            return xid;
        }));

        foreach (var xid in ended)
        {
            await Eventually.EqualAsync(StatusCode.NotFound, () => StatusCodeOfAsync(coordinator, xid), Eventually.DefaultTimeout, $"{xid} to be purged");
        }
        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(undecided));
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(undecided));
        var listed = await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { PageSize = 1000 });
        Assert.Equal([undecided], listed.Transactions.Select(t => t.Xid));

        // The one under way ends in its turn and is purged too.
        var status = await coordinator.Tm.CommitAsync(undecided);
        Assert.True(status is GlobalStatus.AsyncCommitting or GlobalStatus.Committed, $"commit answered {status}");
        await Eventually.EqualAsync(StatusCode.NotFound, () => StatusCodeOfAsync(coordinator, undecided), Eventually.DefaultTimeout, "the last transaction to be purged");
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("embedded")]
    public async Task Ended_concurrent_transactions_keep_their_branches_and_history_but_let_go_of_their_keys(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db");
        var dirtyFixed = false;
        string? dirty = null;
        rm.Script = command => Task.FromResult(command.Xid == Volatile.Read(ref dirty) && !Volatile.Read(ref dirtyFixed)
            ? ScriptedResourceManager.Fail(command, retryable: false, "dirty write")
            : ScriptedResourceManager.Succeed(command));
        dirty = await coordinator.Tm.BeginAsync("dirty");
        await coordinator.Rm.RegisterGrantedAsync(dirty, "db", "t:dirty:1", "t:dirty:2");

        // Committed and rolled back at once, two branches of three keys each, while the dirty write stops.
        var ended = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var xid = await coordinator.Tm.BeginAsync($"t{i}");
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}:1", $"t:{i}:2", $"t:{i}:3");
            await coordinator.Rm.RegisterGrantedAsync(xid, "db", $"t:{i}:1", $"t:{i}:4", $"t:{i}:5");
            if (i % 2 == 0)
            {
                await coordinator.Tm.CommitAsync(xid);
                await coordinator.Tm.WaitForStatusAsync(xid, GlobalStatus.Committed);
            }
            else
            {
                Assert.Equal(GlobalStatus.Rollbacked, await coordinator.Tm.RollbackAsync(xid));
            }
            return xid;
        }));
        Assert.Equal(GlobalStatus.RollbackFailed, await coordinator.Tm.RollbackAsync(dirty));

        // A person's view of an ended transaction is whole; only the keys it no longer holds are gone.
        var sessions = (CoordinatorStoreBase)coordinator.Services.GetRequiredService<ICoordinatorStore>();
        foreach (var xid in ended)
        {
            var shown = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
            Assert.Equal(2, shown.Transaction.Branches.Count);
            Assert.All(shown.Transaction.Branches, b => Assert.Equal(0, b.LockCount));
            Assert.NotEmpty(shown.History);
            Assert.Empty(shown.Locks);
            Assert.All(sessions.Find(xid)!.Branches(), b => Assert.Empty(b.LockKeys));
        }
        // A transaction stopped for a person still holds its keys and its locks.
        Assert.Equal(2, Assert.Single(sessions.Find(dirty)!.Branches()).LockKeys.Length);
        Assert.Equal(2, await coordinator.Admin.LockCountAsync());

        // Once the person resolves it, it ends, and lets go of them in turn.
        Volatile.Write(ref dirtyFixed, true);
        await coordinator.Admin.RetryAsync(new InterveneRequest { Xid = dirty, Reason = "rows restored by hand" });
        await coordinator.Tm.WaitForStatusAsync(dirty, GlobalStatus.Rollbacked);
        Assert.Empty(Assert.Single(sessions.Find(dirty)!.Branches()).LockKeys);
        Assert.Equal(0, await coordinator.Admin.LockCountAsync());

        // After a restart the ended transactions are back as they ended, without locks.
        if (store == "embedded")
        {
            await coordinator.RestartAsync();
            sessions = (CoordinatorStoreBase)coordinator.Services.GetRequiredService<ICoordinatorStore>();
            foreach (var xid in ended.Append(dirty))
            {
                var shown = await coordinator.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid });
                Assert.True(shown.Transaction.Status is GlobalStatus.Committed or GlobalStatus.Rollbacked, $"{xid} is {shown.Transaction.Status}");
                Assert.NotEmpty(shown.Transaction.Branches);
            }
            Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        }
    }

    [Fact]
    public async Task PurgeEnded_oldest_first_leaves_the_younger_and_the_unended_ones()
    {
        await using var store = new InMemoryCoordinatorStore();
        var first = await BeginAsync(store);
        var second = await BeginAsync(store);
        var open = await BeginAsync(store);
        await EndAsync(store, first, atUnixMs: 3_000);
        await EndAsync(store, second, atUnixMs: 5_000);

        await store.PurgeEndedAsync(lastUpdateBeforeUnixMs: 4_000);

        Assert.Null(store.Find(first));
        Assert.NotNull(store.Find(second));
        Assert.Equal([open], (await store.FindTimedOutAsync(long.MaxValue)).ToArray());

        await store.PurgeEndedAsync(lastUpdateBeforeUnixMs: long.MaxValue);

        Assert.Null(store.Find(second));
        Assert.NotNull(store.Find(open));
    }

    [Fact]
    public async Task PurgeEnded_after_restart_from_a_compacted_log_purges_what_ended_before_and_keeps_the_rest()
    {
        string ended, open, endedAfterCompaction;
        await using (var store = await OpenEmbeddedAsync(compactionThreshold: 1))
        {
            ended = await BeginAsync(store);
            open = await BeginAsync(store);
            await EndAsync(store, ended, atUnixMs: 3_000);
            // Past the tiny threshold every batch compacts: the ended one is now a snapshot record.
            endedAfterCompaction = await BeginAsync(store);
            await EndAsync(store, endedAfterCompaction, atUnixMs: 4_000);
            Assert.True(store.Compactions > 0);
        }

        await using var reopened = await OpenEmbeddedAsync(compactionThreshold: 64L * 1024 * 1024);
        Assert.Empty(await reopened.FindDuePhaseTwoAsync(long.MaxValue));
        Assert.Equal([open], (await reopened.FindTimedOutAsync(long.MaxValue)).ToArray());

        await reopened.PurgeEndedAsync(lastUpdateBeforeUnixMs: long.MaxValue);

        Assert.Null(reopened.Find(ended));
        Assert.Null(reopened.Find(endedAfterCompaction));
        Assert.NotNull(reopened.Find(open));
    }

    private Task<EmbeddedCoordinatorStore> OpenEmbeddedAsync(long compactionThreshold) => StoreDriver.OpenEmbeddedAsync(_directory, compactionThreshold);

    private static Task<string> BeginAsync(CoordinatorStoreBase store) => StoreDriver.BeginAsync(store);

    private static Task EndAsync(CoordinatorStoreBase store, string xid, long atUnixMs) =>
        store.AppendAsync(new StoreRecord
        {
            GlobalStatusChanged = new GlobalStatusChanged { Xid = xid, From = GlobalStatus.Begin, To = GlobalStatus.Committed, AtUnixMs = atUnixMs, Actor = "coordinator" },
        });

    private static async Task<StatusCode> StatusCodeOfAsync(InProcessCoordinator coordinator, string xid)
    {
        try
        {
            await coordinator.Tm.GetStatusAsync(new GetStatusRequest { Xid = xid });
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
