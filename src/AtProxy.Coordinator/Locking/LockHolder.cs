using System.Diagnostics;

namespace AtProxy.Coordinator.Locking;

/// <summary>Who holds a lock: one instance per branch, shared by all the keys it acquired.</summary>
internal sealed record LockHolder(string Xid, long BranchId, string ApplicationId, long AcquiredUnixMs)
{
    /// <summary>
    /// When this holder was made, just before its keys were acquired (<see cref="Stopwatch.GetTimestamp"/>),
    /// for the lock hold time; a holder restored on recovery starts counting at the restore.
    /// </summary>
    public long AcquiredTimestamp { get; init; } = Stopwatch.GetTimestamp();
}
