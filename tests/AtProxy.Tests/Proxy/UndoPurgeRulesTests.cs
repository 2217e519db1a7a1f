using AtProxy.Phase2;
using AtProxy.Protocol.Undo;
using AtProxy.Transactions;

namespace AtProxy.Tests.Proxy;

/// <summary>Which old undo rows the purge may delete, by the coordinator's answer about their transaction.</summary>
public class UndoPurgeRulesTests
{
    // log_status: 0 = undo records, 1 = global-finished marker.
    [Theory]
    [InlineData(1, GlobalTransactionStatus.Rollbacked, true)]
    [InlineData(1, GlobalTransactionStatus.TimeoutRollbacked, true)]
    [InlineData(1, GlobalTransactionStatus.Unknown, true)]
    [InlineData(0, GlobalTransactionStatus.Committed, true)]
    [InlineData(0, GlobalTransactionStatus.Finished, true)]
    [InlineData(0, GlobalTransactionStatus.Unknown, true)]
    [InlineData(0, GlobalTransactionStatus.Rollbacked, false)]
    [InlineData(0, GlobalTransactionStatus.Begin, false)]
    [InlineData(0, GlobalTransactionStatus.AsyncCommitting, false)]
    [InlineData(0, GlobalTransactionStatus.Rollbacking, false)]
    [InlineData(0, GlobalTransactionStatus.TimeoutRollbackRetrying, false)]
    [InlineData(0, GlobalTransactionStatus.RollbackFailed, false)]
    [InlineData(1, GlobalTransactionStatus.RollbackFailed, false)]
    [InlineData(0, GlobalTransactionStatus.CommitFailed, false)]
    [InlineData(1, GlobalTransactionStatus.RollbackRetrying, false)]
    [InlineData(0, GlobalTransactionStatus.RollbackRetryTimeout, false)]
    [InlineData(1, GlobalTransactionStatus.RollbackRetryTimeout, false)]
    [InlineData(0, GlobalTransactionStatus.CommitRetryTimeout, false)]
    public void MayPurge_ByRowAndTransactionStatus(int row, GlobalTransactionStatus transaction, bool expected) =>
        Assert.Equal(expected, UndoPurgeRules.MayPurge((UndoLogStatus)row, transaction));

    [Theory]
    [InlineData("tc:42", true)]
    [InlineData("node:a:7", true)]
    [InlineData("tc:0", false)]
    [InlineData("tc:", false)]
    [InlineData(":5", false)]
    [InlineData("no-sequence", false)]
    [InlineData("tc 1:5", false)]
    public void Xid_IsWellFormed_accepts_only_node_colon_positive_sequence(string xid, bool expected) =>
        Assert.Equal(expected, Xid.IsWellFormed(xid));
}
