using AtProxy.Protocol.Undo;
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
        Assert.True(UndoLogCodec.TryDecode(bytes, context, out var decoded, out var problem), problem);
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
        Assert.True(UndoLogCodec.TryDecode(bytes, context, out var decoded, out var problem), problem);
        Assert.Equal(log, decoded);
    }

    [Fact]
    public void Unknown_context_or_version_is_refused_not_guessed()
    {
        var (bytes, context) = UndoLogCodec.Encode(SampleLog(1, "a"), 1 << 20);
        Assert.False(UndoLogCodec.TryDecode(bytes, "serializer=json", out var log, out var unknown));
        Assert.Null(log);
        Assert.Contains("serializer=json", unknown);

        var future = SampleLog(1, "a");
        future.FormatVersion = 99;
        var futureBytes = Google.Protobuf.MessageExtensions.ToByteArray(future);
        Assert.False(UndoLogCodec.TryDecode(futureBytes, context, out _, out var newer));
        Assert.Contains("99", newer);
    }

    [Fact]
    public void Unknown_compressor_or_corrupt_bytes_are_refused_not_guessed()
    {
        var (bytes, _) = UndoLogCodec.Encode(SampleLog(1, "a"), 1 << 20);
        Assert.False(UndoLogCodec.TryDecode(bytes, UndoLogCodec.PlainContext + ";compressor=zstd", out _, out var compressor));
        Assert.Contains("zstd", compressor);
        Assert.False(UndoLogCodec.TryDecode([0xff, 0xff, 0xff], UndoLogCodec.PlainContext, out _, out var corrupt));
        Assert.Contains("not a readable undo log", corrupt);
        Assert.False(UndoLogCodec.TryDecode(bytes, UndoLogCodec.CompressedContext, out _, out var notGzip));
        Assert.Contains("not a readable undo log", notGzip);
    }

    // Rows as earlier versions wrote them into rollback_info (protobuf, and the same gzipped), kept
    // byte for byte: every later version must still read them. Version 1 holds each column's text in
    // the writing session's settings, version 2 record text under the pinned settings.
    private const string StoredV1 = "CAESBHRjOjcYAyK6AQoGcHVibGljEgVzdG9jaxgCIgsKA3NrdRIEdGV4dCIOCgNxdHkSB2ludGVnZXIiHgoCYXQSGHRpbWVzdGFtcCB3aXRoIHRpbWUgem9uZSIMCgRub3RlEgR0ZXh0KgNza3UyKgoFEgNhLTEKAxIBNQoYEhYyMDI0LTAxLTAyIDAzOjA0OjA1KzAxCgIIATorCgUSA2EtMQoDEgE0ChgSFjIwMjQtMDEtMDIgMDM6MDQ6MDYrMDEKAxIBeA==";
    private const string StoredV1Gzip = "H4sIAAAAAAAC/23MTQ6CMBQE4JSCkqdx0YXpyjRdQkhKBU16GySNNsiP8ojo0TydEDcuXE7mmwkJ87E0R07lm8CiG05XV7Kgx7asuCdXQPtqmIgdUW6A3vDJlq5Be7Z3uQOvQMbR1bbHou7Ew+FFzFG82sbKNfhNi/a7juYjHUHAaJGkQBnJgbOtVjpLVJooLdTeqMyoPFYpeCEx8Y/N/tvDbKd6/ABNKxrvxwAAAA==";
    private const string StoredV2 = "CAISBHRjOjgYBCLFAQoGcHVibGljEgVzdG9jaxgCIgsKA3NrdRIEdGV4dCIOCgNxdHkSB2ludGVnZXIiHgoCYXQSGHRpbWVzdGFtcCB3aXRoIHRpbWUgem9uZSIMCgRub3RlEgR0ZXh0KgNza3UyKgoFEgNhLTEKAxIBNQoYEhYyMDI0LTAxLTAyIDAyOjA0OjA1KzAwCgIIATo2CgUSA2EtMQoDEgE0ChgSFjIwMjQtMDEtMDIgMDI6MDQ6MDYrMDAKDhIMc2F5ICJoaSIsIG9r";
    private const string StoredV2Gzip = "H4sIAAAAAAAC/23MQQuCMBjGcZxa8iYedghPMXa0hDlUwm9jMnKYztorZd+v71XSpUPHB37PPyDUw6Y6xh5/ObAap9NFN9S3aJouJnwDru2mD1EP5BG4V5zpWg+ozurGd0BqpDHqXlms+5HdNbZsmexpBsVD8AaD6vtOlpBMwKdunWbgUqeAmG6lkHkqslRIJmQl8koUeyGABE5V/tj8vy0XG9HQ1jPjreYHZro3WlvKTdIAAAA=";

    private static readonly string?[] V1Before = ["a-1", "5", "2024-01-02 03:04:05+01", null];
    private static readonly string?[] V1After = ["a-1", "4", "2024-01-02 03:04:06+01", "x"];
    private static readonly string?[] V2Before = ["a-1", "5", "2024-01-02 02:04:05+00", null];
    private static readonly string?[] V2After = ["a-1", "4", "2024-01-02 02:04:06+00", "say \"hi\", ok"];

    // The contexts as stored in the rows' context column.
    public static TheoryData<string, string, uint, string, string?[], string?[]> StoredRows => new()
    {
        { StoredV1, "serializer=protobuf;version=1", 1u, "tc:7", V1Before, V1After },
        { StoredV1Gzip, "serializer=protobuf;version=1;compressor=gzip", 1u, "tc:7", V1Before, V1After },
        { StoredV2, "serializer=protobuf;version=1", 2u, "tc:8", V2Before, V2After },
        { StoredV2Gzip, "serializer=protobuf;version=1;compressor=gzip", 2u, "tc:8", V2Before, V2After },
    };

    [Theory]
    [MemberData(nameof(StoredRows))]
    public void Stored_rows_of_versions_1_and_2_still_decode(string stored, string context, uint version, string xid, string?[] before, string?[] after)
    {
        Assert.True(UndoLogCodec.TryDecode(Convert.FromBase64String(stored), context, out var log, out var problem), problem);
        Assert.Equal(version, log.FormatVersion);
        // Version 1 values are session text, version 2 record text under the pinned settings.
        Assert.Equal(version == 2, UndoLogCodec.IsPinnedText(log));
        Assert.Equal(xid, log.Xid);
        var record = Assert.Single(log.Records);
        Assert.Equal(("public", "stock", UndoKind.Update), (record.Schema, record.Table, record.Kind));
        Assert.Equal(["sku", "qty", "at", "note"], record.Columns.Select(c => c.Name));
        Assert.Equal("timestamp with time zone", record.Columns[2].DataType);
        Assert.Equal(["sku"], record.PrimaryKey);
        Assert.Equal(before, record.Before.Single().Values.Select(RowImage.Text));
        Assert.Equal(after, record.After.Single().Values.Select(RowImage.Text));
    }

    [Fact]
    public void Encoding_a_version_2_log_writes_the_stored_bytes_again()
    {
        Assert.True(UndoLogCodec.TryDecode(Convert.FromBase64String(StoredV2), UndoLogCodec.PlainContext, out var log, out var problem), problem);
        var (bytes, context) = UndoLogCodec.Encode(log, compressionThreshold: 1 << 20);
        Assert.Equal(UndoLogCodec.PlainContext, context);
        Assert.Equal(StoredV2, Convert.ToBase64String(bytes));
    }
}
