using System.Collections.Concurrent;
using AtProxy.Resources;

namespace AtProxy.Phase2;

/// <summary>
/// The branches this process committed in phase 1 whose phase-2 command has not reached it yet.
/// A data source being disposed waits for those of its resource whose transaction is decided, so
/// that a process that commits and exits right away still deletes its undo rows.
/// </summary>
/// <remarks>
/// Several instances may serve one resource and the coordinator sends each command to one of them,
/// so an entry may never be settled here: entries older than <see cref="_maxAge"/> are forgotten
/// (they only ever shorten a disposal's wait).
/// </remarks>
internal sealed class OutstandingBranches(TimeSpan maxAge)
{
    private const int PruneEvery = 1024;

    private readonly ConcurrentDictionary<(string Xid, long BranchId), (Resource Resource, long Added)> _branches = new();
    private readonly TimeSpan _maxAge = maxAge;
    private int _addsSincePrune;

    public int Count => _branches.Count;

    /// <summary>Phase 1 of the branch registered (its phase-2 command is to come).</summary>
    public void Add(Resource resource, string xid, long branchId)
    {
        _branches[(xid, branchId)] = (resource, Environment.TickCount64);
        if (Interlocked.Increment(ref _addsSincePrune) >= PruneEvery)
        {
            Volatile.Write(ref _addsSincePrune, 0);
            var oldest = Environment.TickCount64 - (long)_maxAge.TotalMilliseconds;
            foreach (var (key, value) in _branches)
            {
                if (value.Added < oldest)
                {
                    _branches.TryRemove(key, out _);
                }
            }
        }
    }

    /// <summary>The branch's phase 2 ran here, or will never come here (its phase 1 failed).</summary>
    public void Settle(string xid, long branchId) => _branches.TryRemove((xid, branchId), out _);

    public bool Contains(string xid, long branchId) => _branches.ContainsKey((xid, branchId));

    /// <summary>The outstanding branches of one resource (or of all, for null).</summary>
    public List<(string Xid, long BranchId)> Of(Resource? resource) =>
        _branches.Where(b => resource is null || b.Value.Resource == resource).Select(b => b.Key).ToList();
}
