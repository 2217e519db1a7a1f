using System.Data.Common;
using System.Runtime.CompilerServices;
using AtProxy.Execution;
using AtProxy.Resources;

namespace AtProxy.EntityFrameworkCore;

/// <summary>
/// The branch of each local transaction EF Core opened, kept beside the transaction object (and
/// collected with it) until its commit or rollback.
/// </summary>
internal sealed class BranchTable
{
    private readonly ConditionalWeakTable<DbTransaction, Entry> _branches = new();

    public LocalBranch GetOrCreate(DbTransaction transaction, string? xid, Resource resource, AtProxyClient client) =>
        _branches.GetValue(transaction, _ => new Entry(new LocalBranch(xid, resource, client))).Branch;

    public LocalBranch? Find(DbTransaction transaction) => _branches.TryGetValue(transaction, out var entry) ? entry.Branch : null;

    public void SetRegisteredBranchId(DbTransaction transaction, long? branchId)
    {
        if (_branches.TryGetValue(transaction, out var entry))
        {
            entry.BranchId = branchId;
        }
    }

    public long? RegisteredBranchId(DbTransaction transaction) => _branches.TryGetValue(transaction, out var entry) ? entry.BranchId : null;

    public void Remove(DbTransaction transaction) => _branches.Remove(transaction);

    private sealed class Entry(LocalBranch branch)
    {
        public LocalBranch Branch { get; } = branch;

        public long? BranchId { get; set; }
    }
}
