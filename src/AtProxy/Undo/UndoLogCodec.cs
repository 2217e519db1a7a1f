using System.IO.Compression;
using AtProxy.Images;
using AtProxy.Protocol.V1;
using Google.Protobuf;

namespace AtProxy.Undo;

/// <summary>
/// Turns a branch's undo records into the bytes of <c>atproxy_undo_log.rollback_info</c> and back.
/// The <c>context</c> column says how they were written, so a reader never guesses.
/// </summary>
internal static class UndoLogCodec
{
    /// <summary>
    /// The version written: 2 holds values in <see cref="ImageForm.Canonical"/> form with schema-qualified
    /// types; 1 (still read) holds each column's text in the writing session's settings.
    /// </summary>
    public const uint FormatVersion = 2;

    private const uint OldestReadableVersion = 1;
    private const string Plain = "serializer=protobuf;version=1";
    private const string Compressed = "serializer=protobuf;version=1;compressor=gzip";

    public static (byte[] Bytes, string Context) Encode(BranchUndoLog log, int compressionThreshold)
    {
        log.FormatVersion = FormatVersion;
        var bytes = log.ToByteArray();
        if (bytes.Length <= compressionThreshold)
        {
            return (bytes, Plain);
        }
        using var output = new MemoryStream(bytes.Length / 3);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }
        return (output.ToArray(), Compressed);
    }

    public static BranchUndoLog Decode(byte[] bytes, string context)
    {
        BranchUndoLog log;
        switch (context)
        {
            case Plain:
                log = BranchUndoLog.Parser.ParseFrom(bytes);
                break;
            case Compressed:
                using (var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress))
                {
                    log = BranchUndoLog.Parser.ParseFrom(gzip);
                }
                break;
            default:
                throw new AtProxyException($"An undo log row has context '{context}', which this version of AtProxy cannot read.");
        }
        if (log.FormatVersion is < OldestReadableVersion or > FormatVersion)
        {
            throw new AtProxyException($"An undo log row has format version {log.FormatVersion}; this version of AtProxy reads versions {OldestReadableVersion} to {FormatVersion}.");
        }
        return log;
    }

    /// <summary>How the values of a decoded log were printed.</summary>
    public static ImageForm FormOf(BranchUndoLog log) => log.FormatVersion == 1 ? ImageForm.SessionText : ImageForm.Canonical;
}
