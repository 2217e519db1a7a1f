using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using AtProxy.Protocol.V1;
using Google.Protobuf;

namespace AtProxy.Protocol.Undo;

/// <summary>
/// The one reader and writer of <c>atproxy_undo_log.rollback_info</c>: a protobuf
/// <see cref="BranchUndoLog"/>, gzip-compressed when large. The row's <c>context</c> column says how
/// the bytes were written (<see cref="PlainContext"/> or <see cref="CompressedContext"/>), so a reader
/// never guesses; the log's <see cref="BranchUndoLog.FormatVersion"/> says how its values were printed.
/// </summary>
public static class UndoLogCodec
{
    /// <summary>
    /// The version written: 2 holds values as record text printed under pinned settings (see
    /// <see cref="UndoValueText"/>) with schema-qualified types; 1 (still read) holds each column's
    /// <c>::text</c> in the writing session's own settings.
    /// </summary>
    public const uint FormatVersion = UndoValueText.FormatVersion;

    /// <summary>The oldest format version still read.</summary>
    public const uint OldestReadableVersion = 1;

    /// <summary>The <c>context</c> of uncompressed rollback info.</summary>
    public const string PlainContext = "serializer=protobuf;version=1";

    /// <summary>The <c>context</c> of gzip-compressed rollback info.</summary>
    public const string CompressedContext = "serializer=protobuf;version=1;compressor=gzip";

    /// <summary>
    /// Sets <paramref name="log"/>'s format version to <see cref="FormatVersion"/> and encodes it:
    /// plain up to <paramref name="compressionThreshold"/> bytes, gzip-compressed beyond.
    /// </summary>
    /// <returns>The bytes for <c>rollback_info</c> and the <c>context</c> to store with them.</returns>
    public static (byte[] Bytes, string Context) Encode(BranchUndoLog log, int compressionThreshold)
    {
        ArgumentNullException.ThrowIfNull(log);
        log.FormatVersion = FormatVersion;
        var bytes = log.ToByteArray();
        if (bytes.Length <= compressionThreshold)
        {
            return (bytes, PlainContext);
        }
        using var output = new MemoryStream(bytes.Length / 3);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }
        return (output.ToArray(), CompressedContext);
    }

    /// <summary>
    /// Decodes rollback info written with <paramref name="context"/>: any format version from
    /// <see cref="OldestReadableVersion"/> to <see cref="FormatVersion"/>.
    /// </summary>
    /// <param name="bytes">The <c>rollback_info</c> column.</param>
    /// <param name="context">The <c>context</c> column: <c>key=value</c> pairs separated by <c>;</c>, in any order.</param>
    /// <param name="log">The decoded log, when readable.</param>
    /// <param name="problem">
    /// Otherwise why not, in words that name the context, the version or the protobuf error: an unknown
    /// serializer or compressor, a newer format version, corrupt bytes.
    /// </param>
    public static bool TryDecode(byte[] bytes, string context, [NotNullWhen(true)] out BranchUndoLog? log, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(context);
        log = null;
        if (!TryReadContext(context, out var compressed))
        {
            problem = $"context '{context}' is not a format this version of AtProxy reads ({PlainContext}, optionally ;compressor=gzip)";
            return false;
        }
        BranchUndoLog decoded;
        try
        {
            if (compressed)
            {
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                decoded = BranchUndoLog.Parser.ParseFrom(gzip);
            }
            else
            {
                decoded = BranchUndoLog.Parser.ParseFrom(bytes);
            }
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidDataException)
        {
            problem = $"rollback_info is not a readable undo log ({ex.Message})";
            return false;
        }
        if (decoded.FormatVersion is < OldestReadableVersion or > FormatVersion)
        {
            problem = $"format version {decoded.FormatVersion}; this version of AtProxy reads versions {OldestReadableVersion} to {FormatVersion}";
            return false;
        }
        log = decoded;
        problem = null;
        return true;
    }

    /// <summary>Whether the log's values are record text under pinned settings (version 2) rather than session text (version 1).</summary>
    public static bool IsPinnedText(BranchUndoLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        return log.FormatVersion >= UndoValueText.FormatVersion;
    }

    // serializer=protobuf and version=1, with compressor=gzip or none; keys case-insensitive, in any order, each once.
    private static bool TryReadContext(string context, out bool compressed)
    {
        compressed = false;
        string? serializer = null, version = null, compressor = null;
        foreach (var part in context.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            var value = pair.Length > 1 ? pair[1] : "";
            switch (pair[0].ToLowerInvariant())
            {
                case "serializer" when serializer is null:
                    serializer = value;
                    break;
                case "version" when version is null:
                    version = value;
                    break;
                case "compressor" when compressor is null:
                    compressor = value;
                    break;
                default:
                    return false;
            }
        }
        compressed = compressor == "gzip";
        return serializer == "protobuf" && version == "1" && compressor is null or "" or "gzip";
    }
}
