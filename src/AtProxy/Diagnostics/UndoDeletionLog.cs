using Microsoft.Extensions.Logging;

namespace AtProxy.Diagnostics;

/// <summary>The log messages of the background deletion of committed branches' undo rows (event ids 1100-1199).</summary>
internal static partial class UndoDeletionLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning,
        Message = "Deleting {Count} committed undo rows on {Resource} failed; retrying in {Delay} (other resources are not held up)")]
    public static partial void DeleteFailed(ILogger logger, Exception exception, int count, string resource, TimeSpan delay);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug,
        Message = "Dropped {Count} queued undo deletes of {Resource}: no data source wraps it in this process any more; the rows stay for the next process (or the retention purge)")]
    public static partial void Dropped(ILogger logger, int count, string resource);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning,
        Message = "{Count} committed undo rows of {Resource} were still queued for deletion after {Timeout}; its data source is released anyway")]
    public static partial void DrainTimedOut(ILogger logger, int count, string resource, TimeSpan timeout);
}
