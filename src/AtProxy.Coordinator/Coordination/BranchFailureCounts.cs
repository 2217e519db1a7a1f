using System.Collections.Concurrent;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// How many phase-2 attempts on each branch failed, as this coordinator drove them: the admin
/// API shows it next to what the branch waits for. Memory only: counted since this process
/// started, on the coordinator that made the attempts (a shared store's other coordinators count
/// their own), and forgotten when the transaction ends or a person resumes it.
/// </summary>
internal sealed class BranchFailureCounts
{
    // Far more than the transactions stuck in phase 2 at once; past it, counting starts afresh.
    private const int Capacity = 100_000;

    private readonly ConcurrentDictionary<(string Xid, long BranchId), int> _failures = new();

    public void Failed(string xid, long branchId)
    {
        if (_failures.Count >= Capacity)
        {
            _failures.Clear();
        }
        _failures.AddOrUpdate((xid, branchId), 1, (_, count) => count + 1);
    }

    public int Of(string xid, long branchId) => _failures.GetValueOrDefault((xid, branchId));

    /// <summary>The transaction ended or a person resumed it: its branches count from zero again.</summary>
    public void Forget(string xid, IEnumerable<long> branchIds)
    {
        foreach (var branchId in branchIds)
        {
            _failures.TryRemove((xid, branchId), out _);
        }
    }
}
