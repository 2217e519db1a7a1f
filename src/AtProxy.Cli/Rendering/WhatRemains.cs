using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Rendering;

/// <summary>
/// After a branch was forgotten: what is left of the transaction, in one sentence that names the
/// other branches still to finish and the command that finishes them.
/// </summary>
internal static class WhatRemains
{
    public static string AfterForget(GlobalTransactionInfo transaction, long forgottenBranch)
    {
        var xid = transaction.Xid;
        var status = Formats.EnumName(transaction.Status);
        var head = $"branch {Formats.Number(forgottenBranch)} is forgotten; ";
        var undone = transaction.Branches.Where(b => !IsDone(b.Status)).Select(b => Formats.Number(b.BranchId)).ToList();
        if (undone.Count == 0 || IsEnded(transaction.Status))
        {
            return head + $"the transaction is {status}: nothing remains to do.";
        }
        var others = undone.Count == 1 ? $"its other branch {undone[0]} is" : $"its other branches {string.Join(", ", undone)} are";
        var verb = IsRollbackDirection(transaction.Status) ? "rolled back" : "committed";
        if (IsStopped(transaction.Status))
        {
            return head + $"the transaction is {status} until {others} {verb}: fix the cause, then run `atproxy tx retry {xid}` (or forget {(undone.Count == 1 ? "it" : "them")} too).";
        }
        var waiting = transaction.WaitingFor.Length > 0 ? $" ({transaction.WaitingFor})" : "";
        return head + $"the transaction is {status}: phase 2 goes on until {others} {verb}{waiting}.";
    }

    private static bool IsDone(BranchStatus status) => status is
        BranchStatus.PhaseOneFailed or BranchStatus.PhaseTwoCommitted or BranchStatus.PhaseTwoRollbacked;

    private static bool IsEnded(GlobalStatus status) => status is
        GlobalStatus.Committed or GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.Finished;

    private static bool IsStopped(GlobalStatus status) => status is
        GlobalStatus.CommitFailed or GlobalStatus.RollbackFailed or GlobalStatus.CommitRetryTimeout or GlobalStatus.RollbackRetryTimeout;

    private static bool IsRollbackDirection(GlobalStatus status) => status is
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying or GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying or
        GlobalStatus.RollbackFailed or GlobalStatus.RollbackRetryTimeout;
}
