using System.Buffers.Binary;
using AtProxy.Coordinator.Storage.Records;

namespace AtProxy.Coordinator.Storage.Embedded;

/// <summary>
/// Reads a log file record by record. A record cut short or failing its checksum at the end
/// of the file is a write torn by a crash: it was never acknowledged, so it is dropped. The
/// same damage followed by more than one write batch of data is corruption, which is refused
/// rather than silently losing acknowledged records.
/// </summary>
internal static class LogReader
{
    public static LogReadResult Read(string path, long expectedGeneration, long maxTornBytes, Action<StoreRecord> apply)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1 << 16);
        var fileLength = stream.Length;
        var header = new byte[LogFormat.HeaderSize];
        if (stream.ReadAtLeast(header, LogFormat.HeaderSize, throwOnEndOfStream: false) < LogFormat.HeaderSize ||
            LogFormat.ReadHeader(header) is not { } generation)
        {
            throw new InvalidDataException($"{path} is not an AtProxy coordinator log (bad header).");
        }
        if (generation != expectedGeneration)
        {
            throw new InvalidDataException($"{path} says it is generation {generation}, but its name says {expectedGeneration}.");
        }

        long offset = LogFormat.HeaderSize;
        long records = 0;
        var recordHeader = new byte[LogFormat.RecordHeaderSize];
        var payload = new byte[4096];
        while (offset < fileLength)
        {
            var remaining = fileLength - offset;
            string? damage = null;
            var length = 0;
            if (remaining < LogFormat.RecordHeaderSize)
            {
                damage = $"{remaining} bytes too short for a record header";
            }
            else
            {
                stream.ReadExactly(recordHeader);
                length = BinaryPrimitives.ReadInt32LittleEndian(recordHeader);
                if (length <= 0 || length > LogFormat.MaxPayloadSize)
                {
                    damage = $"an impossible record length {length}";
                }
                else if (length > remaining - LogFormat.RecordHeaderSize)
                {
                    damage = $"a record of {length} bytes cut short at {remaining - LogFormat.RecordHeaderSize}";
                }
                else
                {
                    if (payload.Length < length)
                    {
                        payload = new byte[Math.Max(length, payload.Length * 2)];
                    }
                    stream.ReadExactly(payload, 0, length);
                    var expected = BinaryPrimitives.ReadUInt32LittleEndian(recordHeader.AsSpan(4));
                    if (LogFormat.Checksum(recordHeader.AsSpan(0, 4), payload.AsSpan(0, length)) != expected)
                    {
                        damage = $"a record of {length} bytes failing its checksum";
                    }
                }
            }

            if (damage is not null)
            {
                // A record the file ends inside of is always a torn write; otherwise only a
                // damaged stretch no longer than one write batch can be one.
                var cutShort = length > remaining - LogFormat.RecordHeaderSize || remaining < LogFormat.RecordHeaderSize;
                var wholeRecord = length > 0 && !cutShort ? LogFormat.RecordHeaderSize + (long)length : 0;
                var after = remaining - wholeRecord;
                if (!cutShort && after > maxTornBytes)
                {
                    throw new InvalidDataException(
                        $"{path} is damaged at offset {offset} ({damage}) with {after} more bytes after it. " +
                        "That is not a write torn by a crash; refusing to start rather than drop acknowledged records. " +
                        "Restore the data directory from a backup or move the file away to inspect it.");
                }
                return new LogReadResult(records, offset, fileLength, $"{damage} at offset {offset}");
            }

            StoreRecord record;
            try
            {
                record = StoreRecord.Parser.ParseFrom(payload, 0, length);
            }
            catch (Google.Protobuf.InvalidProtocolBufferException ex)
            {
                throw new InvalidDataException($"{path}: the record at offset {offset} passed its checksum but cannot be read: {ex.Message}", ex);
            }
            apply(record);
            records++;
            offset += LogFormat.RecordHeaderSize + length;
        }
        return new LogReadResult(records, offset, fileLength, null);
    }
}
