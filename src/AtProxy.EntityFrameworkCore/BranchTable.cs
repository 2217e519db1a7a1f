using System.Data.Common;
using System.Runtime.CompilerServices;
using AtProxy.Phase1;
using AtProxy.Resources;
using AtProxy.Transactions;

namespace AtProxy.EntityFrameworkCore;

/// <summary>
/// The branch of each local transaction EF Core opened, kept beside the transaction object (and
/// collected with it) until its commit or rollback.
/// </summary>
internal sealed class BranchTable(AtProxyRuntime runtime, Resource resource)
{
    private readonly ConditionalWeakTable<DbTransaction, LocalTransactionBranch> _branches = new();

    /// <summary>The branch of <paramref name="transaction"/>, begun for <paramref name="owner"/> on first use.</summary>
    public LocalTransactionBranch GetOrCreate(DbTransaction transaction, AmbientTransaction owner) =>
        _branches.GetValue(transaction, t => new LocalTransactionBranch(runtime, t.Connection!, t, owner, resource));

    public LocalTransactionBranch? Find(DbTransaction transaction) => _branches.TryGetValue(transaction, out var branch) ? branch : null;

    public void Remove(DbTransaction transaction) => _branches.Remove(transaction);
}
