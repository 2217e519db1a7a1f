using System.Collections.Concurrent;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;

namespace AtProxy.Phase2;

/// <summary>
/// The undo rows this process wrote in phase 1, kept until the branch's phase-2 command comes. A
/// rollback that finds its branch here knows which rows its newest record touched before it has
/// loaded the undo row, so the rows' check goes in the load's round trip. Only a hint: the rollback
/// trusts what it checked only when the undo row it loaded holds exactly the bytes written here;
/// otherwise (another process wrote it, a restart, an eviction) it checks after the load, as
/// without the hint.
/// </summary>
internal sealed class WrittenUndoLogs
{
    // Far above the branches a process has between phase 1 and their phase-2 command (throughput times
    // the time to decide); with rows of at most LargestKeptBytes, a few MiB at worst, also when the
    // commands go to another instance of the application and entries only age out.
    internal const int MostKept = 2_000;

    // A large branch gains nothing worth its memory from one round trip less.
    internal const int LargestKeptBytes = 4 * 1024;
    private const int PruneEvery = 1024;

    private readonly ConcurrentDictionary<(string Xid, long BranchId), Entry> _written = new();
    private readonly TimeSpan _keptFor;
    private readonly TimeProvider _time;
    private int _addsSincePrune;

    /// <param name="keptFor">How long an entry whose phase-2 command never came here is kept (the command may go to another instance).</param>
    /// <param name="time">The clock entries age by (the system's unless a test moves its own).</param>
    public WrittenUndoLogs(TimeSpan keptFor, TimeProvider? time = null)
    {
        _keptFor = keptFor;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>What phase 1 wrote: the undo row's bytes and context, and the record a rollback restores first.</summary>
    public sealed record Entry(byte[] RollbackInfo, string Context, UndoRecord Newest, long AddedTimestamp);

    public int Count => _written.Count;

    /// <summary>
    /// Phase 1 wrote the branch's undo row. Kept only for records in pinned text (a rollback of session-text
    /// records unpins first, so it checks after the load) and for rows of at most 4 KiB.
    /// </summary>
    public void Add(string xid, long branchId, byte[] rollbackInfo, string context, BranchUndoLog log)
    {
        if (log.Records.Count == 0 || !UndoLogCodec.IsPinnedText(log) || rollbackInfo.Length > LargestKeptBytes)
        {
            return;
        }
        if (Interlocked.Increment(ref _addsSincePrune) >= PruneEvery || _written.Count >= MostKept)
        {
            Volatile.Write(ref _addsSincePrune, 0);
            Prune();
        }
        if (_written.Count < MostKept)
        {
            _written[(xid, branchId)] = new Entry(rollbackInfo, context, log.Records[^1], _time.GetTimestamp());
        }
    }

    /// <summary>Removes and returns the branch's entry, if this process wrote its undo row lately.</summary>
    public Entry? Take(string xid, long branchId) =>
        _written.TryRemove((xid, branchId), out var entry) ? entry : null;

    /// <summary>The branch's phase 2 needs no hint (a commit, or its phase 1 failed).</summary>
    public void Forget(string xid, long branchId) => _written.TryRemove((xid, branchId), out _);

    private void Prune()
    {
        foreach (var (key, value) in _written)
        {
            if (_time.GetElapsedTime(value.AddedTimestamp) > _keptFor)
            {
                _written.TryRemove(key, out _);
            }
        }
    }
}
