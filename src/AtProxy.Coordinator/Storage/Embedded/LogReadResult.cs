namespace AtProxy.Coordinator.Storage.Embedded;

/// <summary>What reading a log file found: how many records, and where the intact part ends.</summary>
/// <param name="Records">Records read and applied.</param>
/// <param name="ValidLength">The offset just after the last intact record; the file is cut here.</param>
/// <param name="FileLength">The file's length before any cut.</param>
/// <param name="TornTail">Why the bytes after <paramref name="ValidLength"/> were dropped, or null when there were none.</param>
internal sealed record LogReadResult(long Records, long ValidLength, long FileLength, string? TornTail);
