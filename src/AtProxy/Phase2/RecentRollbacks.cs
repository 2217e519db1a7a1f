using System.Collections.Concurrent;

namespace AtProxy.Phase2;

/// <summary>
/// The branches this process restored lately. A rollback command can arrive twice for one branch:
/// the first restored it and deleted its undo row, and the acknowledgement was lost (the
/// coordinator died, the stream broke), so the coordinator sends it again. Without this, the second
/// finds no undo row and writes a global-finished marker, meant for a branch whose phase 1 has not
/// committed, which then stays until the undo-log retention. A branch found here had committed its
/// phase 1 (its undo row existed), so no late local commit can come and no marker is needed. After a
/// restart the set is empty and the marker is written, which is always safe.
/// </summary>
internal sealed class RecentRollbacks
{
    private static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(30);
    private const int MostKept = 100_000;

    private readonly ConcurrentDictionary<(string Database, string Xid, long BranchId), DateTime> _restored = new();

    /// <summary>Notes that the branch's rows were restored and its undo row deleted, in a committed local transaction.</summary>
    public void Restored(string database, string xid, long branchId)
    {
        if (_restored.Count >= MostKept)
        {
            Prune();
        }
        _restored[(database, xid, branchId)] = DateTime.UtcNow;
    }

    /// <summary>True when this process restored the branch within the last <see cref="KeptFor"/>.</summary>
    public bool WasRestored(string database, string xid, long branchId) =>
        _restored.TryGetValue((database, xid, branchId), out var at) && DateTime.UtcNow - at < KeptFor;

    private void Prune()
    {
        var cutoff = DateTime.UtcNow - KeptFor;
        foreach (var entry in _restored)
        {
            if (entry.Value < cutoff)
            {
                _restored.TryRemove(entry.Key, out _);
            }
        }
        if (_restored.Count >= MostKept)
        {
            // All recent: forget the oldest half (their second command, if any, writes a marker).
            foreach (var entry in _restored.OrderBy(e => e.Value).Take(MostKept / 2).ToList())
            {
                _restored.TryRemove(entry.Key, out _);
            }
        }
    }
}
