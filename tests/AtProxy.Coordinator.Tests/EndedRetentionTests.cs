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
    public async Task Sweep_ConcurrentTransactions_PurgesEveryEndedOneAfterItsRetentionAndNothingElse(string store)
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
            await Eventually.EqualAsync(StatusCode.NotFound, () => StatusCodeOfAsync(coordinator, xid), what: $"{xid} to be purged");
        }
        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(undecided));
        Assert.Equal(1, await coordinator.Admin.LockCountAsync(undecided));
        var listed = await coordinator.Admin.ListTransactionsAsync(new ListTransactionsRequest { PageSize = 1000 });
        Assert.Equal([undecided], listed.Transactions.Select(t => t.Xid));

        // The one under way ends in its turn and is purged too.
        var status = await coordinator.Tm.CommitAsync(undecided);
        Assert.True(status is GlobalStatus.AsyncCommitting or GlobalStatus.Committed, $"commit answered {status}");
        await Eventually.EqualAsync(StatusCode.NotFound, () => StatusCodeOfAsync(coordinator, undecided), what: "the last transaction to be purged");
    }

    [Fact]
    public async Task PurgeEnded_OldestFirst_LeavesTheYoungerAndTheUnendedOnes()
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
    public async Task PurgeEnded_AfterRestartFromACompactedLog_PurgesWhatEndedBeforeAndKeepsTheRest()
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
