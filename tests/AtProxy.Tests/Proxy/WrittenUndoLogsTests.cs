using AtProxy.Phase2;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;

namespace AtProxy.Tests.Proxy;

/// <summary>The undo rows phase 1 wrote, kept as a hint for the rollback's first round trip.</summary>
public class WrittenUndoLogsTests
{
    private static BranchUndoLog Log(params string[] tables)
    {
        var log = new BranchUndoLog { Xid = "tc:1", BranchId = 7 };
        log.Records.AddRange(tables.Select(t => new UndoRecord { Schema = "public", Table = t, Kind = UndoKind.Update }));
        UndoLogCodec.Encode(log, compressionThreshold: int.MaxValue); // sets the format version, as phase 1 does
        return log;
    }

    [Fact]
    public void Take_ReturnsTheBytesAndTheNewestRecordOnce()
    {
        var written = new WrittenUndoLogs(TimeSpan.FromMinutes(10));
        var bytes = new byte[] { 1, 2, 3 };
        written.Add("tc:1", 7, bytes, "ctx", Log("first", "second"));

        var entry = written.Take("tc:1", 7);

        Assert.NotNull(entry);
        Assert.Same(bytes, entry.RollbackInfo);
        Assert.Equal("ctx", entry.Context);
        Assert.Equal("second", entry.Newest.Table);
        Assert.Null(written.Take("tc:1", 7));
        Assert.Equal(0, written.Count);
    }

    [Fact]
    public void Forget_DropsTheEntry()
    {
        var written = new WrittenUndoLogs(TimeSpan.FromMinutes(10));
        written.Add("tc:1", 7, [1], "ctx", Log("t"));

        written.Forget("tc:1", 7);

        Assert.Null(written.Take("tc:1", 7));
    }

    [Fact]
    public void Add_KeepsNothingForAnEmptyLogOrSessionTextRecords()
    {
        var written = new WrittenUndoLogs(TimeSpan.FromMinutes(10));
        written.Add("tc:1", 1, [1], "ctx", Log());
        var sessionText = Log("t");
        sessionText.FormatVersion = 1;
        written.Add("tc:1", 2, [1], "ctx", sessionText);

        Assert.Equal(0, written.Count);
    }

    [Fact]
    public void Add_KeepsNothingForALargeRow()
    {
        var written = new WrittenUndoLogs(TimeSpan.FromMinutes(10));
        written.Add("tc:1", 1, new byte[WrittenUndoLogs.LargestKeptBytes + 1], "ctx", Log("t"));
        written.Add("tc:1", 2, new byte[WrittenUndoLogs.LargestKeptBytes], "ctx", Log("t"));

        Assert.Null(written.Take("tc:1", 1));
        Assert.NotNull(written.Take("tc:1", 2));
    }

    [Fact]
    public void Add_StopsAtItsBoundInsteadOfGrowing()
    {
        var written = new WrittenUndoLogs(TimeSpan.FromMinutes(10));
        var log = Log("t");
        for (var i = 0; i < WrittenUndoLogs.MostKept + 500; i++)
        {
            written.Add("tc:1", i, [1], "ctx", log);
        }

        Assert.Equal(WrittenUndoLogs.MostKept, written.Count);
    }

    [Fact]
    public void Add_ForgetsEntriesOlderThanItKeepsThem()
    {
        var clock = new ManualClock();
        var written = new WrittenUndoLogs(TimeSpan.FromMinutes(10), clock);
        var log = Log("t");
        written.Add("tc:1", 0, [1], "ctx", log);
        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromMilliseconds(1));
        for (var i = 1; i <= 1024; i++)
        {
            written.Add("tc:1", i, [1], "ctx", log);
        }

        Assert.Null(written.Take("tc:1", 0));
        Assert.NotNull(written.Take("tc:1", 1024)); // added after the clock moved: kept
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
