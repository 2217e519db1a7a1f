using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Embedded;
using AtProxy.Coordinator.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace AtProxy.Coordinator.Tests.Storage;

/// <summary>The embedded store's log on disk: recovery, torn tails, corruption, compaction, group commit.</summary>
public sealed class EmbeddedStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"atproxy-store-test-{Guid.NewGuid().ToString("N")[..12]}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Task<EmbeddedCoordinatorStore> OpenAsync(long compactionThreshold = 64L * 1024 * 1024) =>
        StoreDriver.OpenEmbeddedAsync(_directory, compactionThreshold);

    private static Task<string> BeginAsync(CoordinatorStoreBase store) => StoreDriver.BeginAsync(store);

    // A begin is written ahead of the next change that waits for its flush: make one.
    private static async Task FlushQueuedAsync(CoordinatorStoreBase store)
    {
        var marker = await BeginAsync(store);
        await ChangeStatusAsync(store, marker, GlobalStatus.Begin, GlobalStatus.Rollbacking);
    }

    private static async Task<long> RegisterAsync(CoordinatorStoreBase store, string xid, params string[] keys)
    {
        var record = new BranchRegistered { Xid = xid, BranchId = store.NextBranchId(), ResourceId = "db", ApplicationId = "app", RegisteredUnixMs = 2_000 };
        record.LockKeys.Add(keys.Select(k => new LockKey { Table = "t", PrimaryKey = k }));
        var conflict = await store.RegisterBranchAsync(new BranchRegistration(record, CoordinatorState.ToKeys(record)));
        Assert.Null(conflict);
        return record.BranchId;
    }

    private static Task ChangeStatusAsync(CoordinatorStoreBase store, string xid, GlobalStatus from, GlobalStatus to) =>
        store.AppendAsync(new StoreRecord { GlobalStatusChanged = new GlobalStatusChanged { Xid = xid, From = from, To = to, AtUnixMs = 3_000, Actor = "coordinator" } });

    [Fact]
    public async Task Reopen_after_records_recovers_sessions_branches_statuses_and_locks()
    {
        string open, decided;
        await using (var store = await OpenAsync())
        {
            open = await BeginAsync(store);
            await RegisterAsync(store, open, "1", "2");
            decided = await BeginAsync(store);
            await RegisterAsync(store, decided, "3");
            await ChangeStatusAsync(store, decided, GlobalStatus.Begin, GlobalStatus.AsyncCommitting);
        }

        await using var reopened = await OpenAsync();

        Assert.Equal(GlobalStatus.Begin, reopened.Find(open)!.Status);
        Assert.Equal(GlobalStatus.AsyncCommitting, reopened.Find(decided)!.Status);
        Assert.Single(reopened.Find(decided)!.Branches());
        Assert.Equal(2, reopened.LocksHeld);
        Assert.Equal(open, reopened.HolderOf(new LockKeyId("db", "t", "1"))!.Xid);
        Assert.Null(reopened.HolderOf(new LockKeyId("db", "t", "3")));
        // A clean close records the last sequence handed out, so the counter resumes right after it.
        Assert.Equal(3, reopened.NextTransactionSequence());
        Assert.Equal(3, reopened.NextBranchId());
    }

    [Theory]
    [InlineData(3)]     // a record header cut short
    [InlineData(20)]    // a payload cut short
    public async Task Reopen_torn_tail_drops_only_the_unfinished_record(int tornBytes)
    {
        string xid;
        string path;
        await using (var store = await OpenAsync())
        {
            xid = await BeginAsync(store);
            await RegisterAsync(store, xid, "1");
            path = store.CurrentLogPath!;
        }
        var intactLength = new FileInfo(path).Length;
        // The start of a record whose write the crash interrupted: a plausible length, then less than that.
        var torn = new byte[tornBytes];
        BitConverter.TryWriteBytes(torn, 64);
        await using (var file = new FileStream(path, FileMode.Append))
        {
            await file.WriteAsync(torn);
        }

        await using (var reopened = await OpenAsync())
        {
            Assert.Equal(intactLength, new FileInfo(path).Length);
            Assert.Equal(1, reopened.LocksHeld);
            await ChangeStatusAsync(reopened, xid, GlobalStatus.Begin, GlobalStatus.Rollbacking);
        }
        await using var again = await OpenAsync();
        Assert.Equal(GlobalStatus.Rollbacking, again.Find(xid)!.Status);
    }

    [Fact]
    public async Task Reopen_last_record_fails_its_checksum_is_dropped_as_torn()
    {
        string path;
        long lengthAfterFirst;
        await using (var store = await OpenAsync())
        {
            // A begin is flushed with the transaction's next change: wait for one before measuring.
            var first = await BeginAsync(store);
            await ChangeStatusAsync(store, first, GlobalStatus.Begin, GlobalStatus.Rollbacking);
            path = store.CurrentLogPath!;
            lengthAfterFirst = new FileInfo(path).Length;
            await BeginAsync(store); // flushed when the store closes, followed only by the close's own counter record
        }
        var bytes = await File.ReadAllBytesAsync(path);
        // The begin's payload: it and the short record after it are the torn stretch.
        bytes[lengthAfterFirst + LogFormat.RecordHeaderSize] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);

        await using var reopened = await OpenAsync();

        Assert.Single(reopened.Sessions);
        Assert.Equal(lengthAfterFirst, new FileInfo(path).Length);
    }

    [Fact]
    public async Task Reopen_damage_followed_by_more_than_a_batch_is_refused_as_corruption()
    {
        string path;
        await using (var store = await OpenAsync())
        {
            var xid = await BeginAsync(store);
            // Enough acknowledged data after the first record that damage there cannot be a torn write.
            for (var i = 0; i < 6; i++)
            {
                await RegisterAsync(store, xid, Enumerable.Range(0, 20_000).Select(k => $"{i}-{k}-padding-padding-padding").ToArray());
            }
            path = store.CurrentLogPath!;
        }
        Assert.True(new FileInfo(path).Length > EmbeddedCoordinatorStore.MaxBatchBytes + 1000);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[LogFormat.HeaderSize + LogFormat.RecordHeaderSize + 2] ^= 0xFF; // inside the first record's payload
        await File.WriteAllBytesAsync(path, bytes);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync());

        Assert.Contains("refusing to start", error.Message);
        Assert.Equal(bytes.Length, new FileInfo(path).Length); // nothing was cut
    }

    [Fact]
    public async Task Compaction_log_past_its_threshold_is_replaced_by_a_snapshot_that_recovers_the_same_state()
    {
        string live;
        long lastBranch;
        await using (var store = await OpenAsync(compactionThreshold: 8 * 1024))
        {
            live = await BeginAsync(store);
            lastBranch = await RegisterAsync(store, live, "kept-1", "kept-2");
            for (var i = 0; i < 300; i++)
            {
                var xid = await BeginAsync(store);
                await RegisterAsync(store, xid, $"k{i}");
                await ChangeStatusAsync(store, xid, GlobalStatus.Begin, GlobalStatus.Committed);
                await store.PurgeAsync(xid);
            }
            Assert.True(store.Compactions > 0);
            Assert.EndsWith(LogFormat.FileName(store.Compactions + 1), store.CurrentLogPath);
            Assert.Single(Directory.GetFiles(_directory, "coordinator-*.log"));
            Assert.True(new FileInfo(store.CurrentLogPath!).Length < 8 * 1024);
        }

        await using var reopened = await OpenAsync(compactionThreshold: 8 * 1024);

        // Purges are not logged: transactions purged after the last compaction reappear, ended, until purged again.
        Assert.Equal(live, Assert.Single(reopened.Sessions, s => s.Status == GlobalStatus.Begin).Xid);
        Assert.All(reopened.Sessions.Where(s => s.Xid != live), s => Assert.Equal(GlobalStatus.Committed, s.Status));
        Assert.True(reopened.Sessions.Count() < 100, $"{reopened.Sessions.Count()} transactions came back; compaction should have left most out");
        Assert.Equal(2, reopened.LocksHeld);
        // Ids of purged transactions are not reused: the counter resumes after the last one handed out.
        Assert.Equal(302, reopened.NextTransactionSequence());
        Assert.Equal(lastBranch + 301, reopened.NextBranchId());
    }

    [Fact]
    public async Task Compaction_ended_transaction_is_written_without_the_keys_it_let_go_of_and_recovers_without_locks()
    {
        string ended, live;
        await using (var store = await OpenAsync(compactionThreshold: 1))
        {
            ended = await BeginAsync(store);
            await RegisterAsync(store, ended, "e1", "e2", "e3");
            live = await BeginAsync(store);
            await RegisterAsync(store, live, "l1");
            await ChangeStatusAsync(store, ended, GlobalStatus.Begin, GlobalStatus.Committed);
            Assert.Empty(Assert.Single(store.Find(ended)!.Branches()).LockKeys);
            // Past the tiny threshold every batch compacts: both are snapshot records now.
            await FlushQueuedAsync(store);
            Assert.True(store.Compactions > 0);
        }

        await using var reopened = await OpenAsync();

        var branch = Assert.Single(reopened.Find(ended)!.Branches());
        Assert.Equal((GlobalStatus.Committed, BranchStatus.PhaseTwoCommitted, false), (reopened.Find(ended)!.Status, branch.Status, branch.LocksHeld));
        Assert.Empty(branch.LockKeys);
        Assert.Null(reopened.HolderOf(new LockKeyId("db", "t", "e1")));
        Assert.Equal(live, reopened.HolderOf(new LockKeyId("db", "t", "l1"))!.Xid);
        Assert.Equal(1, reopened.LocksHeld);
    }

    [Fact]
    public async Task Reopen_leftover_of_an_unfinished_compaction_is_ignored()
    {
        string xid;
        await using (var store = await OpenAsync())
        {
            xid = await BeginAsync(store);
        }
        await File.WriteAllTextAsync(Path.Combine(_directory, LogFormat.FileName(2) + ".tmp"), "half a snapshot");

        await using var reopened = await OpenAsync();

        Assert.NotNull(reopened.Find(xid));
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    [Fact]
    public async Task Open_directory_in_use_by_another_store_is_refused()
    {
        await using var first = await OpenAsync();

        var error = await Assert.ThrowsAsync<IOException>(() => OpenAsync());

        Assert.Contains("in use by another coordinator", error.Message);
    }

    [Fact]
    public async Task Append_many_concurrent_callers_share_flushes()
    {
        await using var store = await OpenAsync();
        var xids = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => BeginAsync(store)));
        // The begins are queued without waiting for their flush: flush them before the baseline, or their flushes count below.
        await FlushQueuedAsync(store);
        var written = store.RecordsWritten;
        var reservations = store.Reservations;
        var flushes = store.Flushes;

        await Task.WhenAll(xids.Select(xid => Task.Run(() => store.AppendAsync(new StoreRecord
        {
            GlobalStatusChanged = new GlobalStatusChanged { Xid = xid, From = GlobalStatus.Begin, To = GlobalStatus.Rollbacking, AtUnixMs = 3_000 },
        }))));

        // 400 changes, and the flush marker's.
        Assert.Equal(401, store.Sessions.Count(s => s.Status == GlobalStatus.Rollbacking));
        // The reservations, 400 begins and the marker's begin and change before the baseline, then 400 changes.
        Assert.InRange(reservations, 1, 400 / (CoordinatorStoreBase.SequenceReservation / 2) + 1);
        Assert.Equal(402 + reservations, written);
        Assert.Equal(802 + reservations, store.RecordsWritten);
        Assert.True(store.Flushes - flushes < 400, $"{store.Flushes - flushes} flushes for {store.RecordsWritten - written} records: no group commit");
    }

    [Fact]
    public async Task AppendWithNext_branch_outcomes_apply_at_once_and_are_durable_with_the_final_status()
    {
        string xid;
        long first, second;
        var copy = Path.Combine(_directory, "copy");
        await using (var store = await OpenAsync())
        {
            xid = await BeginAsync(store);
            first = await RegisterAsync(store, xid, "1");
            second = await RegisterAsync(store, xid, "2");
            await ChangeStatusAsync(store, xid, GlobalStatus.Begin, GlobalStatus.Rollbacking);

            // A phase-2 rollback records each branch without waiting for its flush, newest first.
            await store.AppendWithNextAsync(BranchRolledBack(xid, second));
            Assert.Equal(BranchStatus.PhaseTwoRollbacked, store.Find(xid)!.FindBranch(second)!.Status);
            Assert.Equal(2, store.LocksHeld); // a branch's rollback lets go of nothing
            await store.AppendWithNextAsync(BranchRolledBack(xid, first));
            await ChangeStatusAsync(store, xid, GlobalStatus.Rollbacking, GlobalStatus.Rollbacked);
            // What a crash right now would leave on disk: the final status waited for its flush.
            CopyLogsTo(copy);
        }

        await using var crashed = new EmbeddedCoordinatorStore(copy, 64L * 1024 * 1024, NullLogger<EmbeddedCoordinatorStore>.Instance);
        await crashed.OpenAsync(CancellationToken.None);
        var session = crashed.Find(xid)!;
        Assert.Equal(GlobalStatus.Rollbacked, session.Status);
        Assert.All(session.Branches(), branch => Assert.Equal(BranchStatus.PhaseTwoRollbacked, branch.Status));
        Assert.Equal(0, crashed.LocksHeld);
    }

    private static StoreRecord BranchRolledBack(string xid, long branchId) =>
        new() { BranchStatusChanged = new BranchStatusChanged { Xid = xid, BranchId = branchId, Status = BranchStatus.PhaseTwoRollbacked, AtUnixMs = 4_000 } };

    [Fact]
    public async Task Begin_returns_before_its_flush_but_its_xid_is_never_handed_out_again()
    {
        string answered;
        long sequence;
        var copy = Path.Combine(_directory, "copy");
        await using (var store = await OpenAsync())
        {
            await BeginAsync(store);
            sequence = store.NextTransactionSequence();
            answered = $"tc:{sequence}";
            await store.BeginAsync(new GlobalBegun { Xid = answered, Sequence = sequence, Name = "n", ApplicationId = "app", BeginTimeUnixMs = 1_000, TimeoutMs = 60_000 });
            // What a crash right now would leave on disk: the begin may or may not be in it.
            CopyLogsTo(copy);
        }

        await using var crashed = new EmbeddedCoordinatorStore(copy, 64L * 1024 * 1024, NullLogger<EmbeddedCoordinatorStore>.Instance);
        await crashed.OpenAsync(CancellationToken.None);
        Assert.True(crashed.NextTransactionSequence() > sequence, "a sequence answered before the crash was handed out again");
    }

    [Fact]
    public async Task Reopen_after_a_crash_resumes_above_every_sequence_handed_out_within_one_reservation()
    {
        var copy = Path.Combine(_directory, "crashed");
        long last;
        await using (var store = await OpenAsync())
        {
            last = 0;
            for (var i = 0; i < 250; i++)
            {
                last = await BeginSequenceAsync(store);
            }
            // What a crash right now would leave on disk: no clean close, the reservation ahead of the last sequence.
            CopyLogsTo(copy);
        }

        await using var crashed = await StoreDriver.OpenEmbeddedAsync(copy);
        var next = crashed.NextTransactionSequence();

        Assert.InRange(next, last + 1, last + CoordinatorStoreBase.SequenceReservation + 1);
    }

    [Fact]
    public async Task Reopen_after_a_clean_close_then_a_crash_never_hands_out_a_sequence_twice()
    {
        var answered = new List<long>();
        for (var run = 0; run < 3; run++)
        {
            await using var store = await OpenAsync();
            for (var i = 0; i < 60; i++)
            {
                answered.Add(await BeginSequenceAsync(store));
            }
        }
        var copy = Path.Combine(_directory, "crashed");
        await using (var store = await OpenAsync())
        {
            for (var i = 0; i < 70; i++)
            {
                answered.Add(await BeginSequenceAsync(store));
            }
            CopyLogsTo(copy);
        }
        await using var crashed = await StoreDriver.OpenEmbeddedAsync(copy);
        answered.Add(await BeginSequenceAsync(crashed));

        // Clean restarts continue without a gap; the crash skips at most one reservation.
        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i), answered.Take(250));
        Assert.InRange(answered[^1], 251, 250 + CoordinatorStoreBase.SequenceReservation + 1);
    }

    /// <summary>What a crash at this moment would leave on disk: the log files as they are, without the store's close.</summary>
    private void CopyLogsTo(string copy)
    {
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(_directory, "coordinator-*.log"))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
    }

    private static async Task<long> BeginSequenceAsync(CoordinatorStoreBase store)
    {
        var xid = await BeginAsync(store);
        return store.Find(xid)!.Sequence;
    }

    [Fact]
    public async Task RegisterBranch_conflict_writes_nothing()
    {
        await using var store = await OpenAsync();
        var holder = await BeginAsync(store);
        await RegisterAsync(store, holder, "1");
        var asker = await BeginAsync(store);
        await FlushQueuedAsync(store);
        var written = store.RecordsWritten;
        var record = new BranchRegistered { Xid = asker, BranchId = store.NextBranchId(), ResourceId = "db", RegisteredUnixMs = 1 };
        record.LockKeys.Add([new LockKey { Table = "t", PrimaryKey = "2" }, new LockKey { Table = "t", PrimaryKey = "1" }]);

        var conflict = await store.RegisterBranchAsync(new BranchRegistration(record, CoordinatorState.ToKeys(record)));

        Assert.Equal(holder, conflict!.Holder.Xid);
        Assert.Equal(written, store.RecordsWritten);
        Assert.Null(store.HolderOf(new LockKeyId("db", "t", "2")));
        Assert.Empty(store.Find(asker)!.Branches());
    }
}
