using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using AtProxy.Coordinator.Storage.Records;
using Google.Protobuf;

namespace AtProxy.Coordinator.Storage.Embedded;

/// <summary>
/// The embedded store's file format. A log file starts with a 16-byte header (magic
/// "ATPXLOG1", then the file's generation as a little-endian int64) followed by records:
/// <c>[int32 payload length][uint32 CRC-32 of length and payload][payload]</c>, the payload
/// being one protobuf <see cref="StoreRecord"/>. The length and checksum let a reader find
/// where a write torn by a crash begins.
/// </summary>
internal static class LogFormat
{
    public const int HeaderSize = 16;
    public const int RecordHeaderSize = 8;

    /// <summary>The largest payload accepted (a branch with 100,000 long keys fits).</summary>
    public const int MaxPayloadSize = 256 * 1024 * 1024;

    private static ReadOnlySpan<byte> Magic => "ATPXLOG1"u8;

    public static string FileName(long generation) => $"coordinator-{generation:D10}.log";

    public static bool TryParseGeneration(string fileName, out long generation)
    {
        generation = 0;
        return fileName.StartsWith("coordinator-", StringComparison.Ordinal) && fileName.EndsWith(".log", StringComparison.Ordinal) &&
            long.TryParse(fileName.AsSpan("coordinator-".Length, fileName.Length - "coordinator-".Length - ".log".Length), out generation) && generation > 0;
    }

    public static byte[] Header(long generation)
    {
        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), generation);
        return header;
    }

    /// <summary>The generation written in a header, or null when the bytes are not a header.</summary>
    public static long? ReadHeader(ReadOnlySpan<byte> header) =>
        header.Length >= HeaderSize && header[..8].SequenceEqual(Magic) ? BinaryPrimitives.ReadInt64LittleEndian(header[8..]) : null;

    /// <summary>Appends one framed record to <paramref name="output"/>.</summary>
    public static void Write(StoreRecord record, ArrayBufferWriter<byte> output)
    {
        var size = record.CalculateSize();
        var span = output.GetSpan(RecordHeaderSize + size);
        BinaryPrimitives.WriteInt32LittleEndian(span, size);
        record.WriteTo(span.Slice(RecordHeaderSize, size));
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Checksum(span[..4], span.Slice(RecordHeaderSize, size)));
        output.Advance(RecordHeaderSize + size);
    }

    public static uint Checksum(ReadOnlySpan<byte> length, ReadOnlySpan<byte> payload)
    {
        var crc = new Crc32();
        crc.Append(length);
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32();
    }
}
