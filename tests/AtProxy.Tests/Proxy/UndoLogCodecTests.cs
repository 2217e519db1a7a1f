using AtProxy.Protocol.V1;
using AtProxy.Undo;

namespace AtProxy.Tests.Proxy;

public class UndoLogCodecTests
{
    private static BranchUndoLog SampleLog(int rows, string text)
    {
        var record = new UndoRecord { Schema = "public", Table = "stock", Kind = UndoKind.Update, PrimaryKey = { "sku" } };
        record.Columns.Add(new UndoColumn { Name = "sku", DataType = "text" });
        record.Columns.Add(new UndoColumn { Name = "count", DataType = "integer" });
        for (var i = 0; i < rows; i++)
        {
            record.Before.Add(new UndoRow { Values = { RowImage.Value($"{text}-{i}"), RowImage.Value(null) } });
            record.After.Add(new UndoRow { Values = { RowImage.Value($"{text}-{i}"), RowImage.Value("7") } });
        }
        return new BranchUndoLog { Xid = "n:1", BranchId = 5, Records = { record } };
    }

    [Fact]
    public void Small_logs_are_stored_plain_and_round_trip()
    {
        var log = SampleLog(2, "sku");
        var (bytes, context) = UndoLogCodec.Encode(log, compressionThreshold: 1 << 20);
        Assert.DoesNotContain("gzip", context);
        var decoded = UndoLogCodec.Decode(bytes, context);
        Assert.Equal(log, decoded);
        Assert.Null(RowImage.Text(decoded.Records[0].Before[0].Values[1]));
        Assert.Equal("7", RowImage.Text(decoded.Records[0].After[0].Values[1]));
    }

    [Fact]
    public void Large_logs_are_compressed_and_round_trip()
    {
        var log = SampleLog(5000, new string('x', 40));
        var (bytes, context) = UndoLogCodec.Encode(log, compressionThreshold: 1024);
        Assert.Contains("gzip", context);
        Assert.True(bytes.Length < log.CalculateSize() / 4, $"{bytes.Length} bytes of {log.CalculateSize()}");
        Assert.Equal(log, UndoLogCodec.Decode(bytes, context));
    }

    [Fact]
    public void Unknown_context_or_version_is_refused_not_guessed()
    {
        var (bytes, context) = UndoLogCodec.Encode(SampleLog(1, "a"), 1 << 20);
        var unknown = Assert.Throws<AtProxyException>(() => UndoLogCodec.Decode(bytes, "serializer=json"));
        Assert.Contains("serializer=json", unknown.Message);

        var future = SampleLog(1, "a");
        future.FormatVersion = 99;
        var futureBytes = Google.Protobuf.MessageExtensions.ToByteArray(future);
        Assert.Throws<AtProxyException>(() => UndoLogCodec.Decode(futureBytes, context));
    }
}
