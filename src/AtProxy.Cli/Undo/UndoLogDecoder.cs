using System.IO.Compression;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>
/// Reads <c>rollback_info</c> the way the proxy wrote it: a protobuf <see cref="BranchUndoLog"/>,
/// gzip-compressed when the row's <c>context</c> says <c>compressor=gzip</c>.
/// </summary>
internal static class UndoLogDecoder
{
    private const uint OldestFormatVersion = 1;

    /// <summary>The decoded log, or the reason it cannot be read (an unknown context or version, corrupt bytes).</summary>
    public static (BranchUndoLog? Log, string? Error) Decode(byte[] bytes, string context)
    {
        var settings = context.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : "", StringComparer.OrdinalIgnoreCase);
        if (!settings.TryGetValue("serializer", out var serializer) || serializer != "protobuf" ||
            !settings.TryGetValue("version", out var version) || version != "1")
        {
            return (null, $"context '{context}' is not a format this version of atproxy reads (serializer=protobuf;version=1)");
        }
        settings.TryGetValue("compressor", out var compressor);
        if (compressor is not (null or "" or "gzip"))
        {
            return (null, $"context '{context}' names compressor '{compressor}', which this version of atproxy cannot read");
        }
        try
        {
            BranchUndoLog log;
            if (compressor == "gzip")
            {
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                log = BranchUndoLog.Parser.ParseFrom(gzip);
            }
            else
            {
                log = BranchUndoLog.Parser.ParseFrom(bytes);
            }
            return log.FormatVersion is >= OldestFormatVersion and <= UndoValueText.FormatVersion
                ? (log, null)
                : (null, $"format version {log.FormatVersion}; this version of atproxy reads versions {OldestFormatVersion} to {UndoValueText.FormatVersion}");
        }
        catch (Exception ex) when (ex is Google.Protobuf.InvalidProtocolBufferException or InvalidDataException)
        {
            return (null, $"rollback_info is not a readable undo log ({ex.Message})");
        }
    }
}
