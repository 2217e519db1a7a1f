using AtProxy.Cli.Coordinator;
using AtProxy.Cli.Rendering;

namespace AtProxy.Cli.Undo;

/// <summary>
/// Reads undo images without database credentials: the coordinator asks each branch's resource
/// manager over its stream (Admin.GetBranchUndo), which reads them as rollback would.
/// </summary>
internal static class CoordinatorUndoReader
{
    /// <summary>The images of <paramref name="branchId"/>, or of every branch of <paramref name="xid"/>.</summary>
    public static async Task<List<BranchImages>> ReadAsync(AdminConnection coordinator, string xid, long? branchId, CancellationToken cancellationToken)
    {
        var shown = await coordinator.GetTransactionAsync(xid, cancellationToken);
        var branches = shown.Transaction.Branches.Where(b => branchId is null || b.BranchId == branchId).ToList();
        if (branchId is { } id && branches.Count == 0)
        {
            throw CliFailure.Refused($"The global transaction '{xid}' has no branch {Formats.Number(id)}. Run 'atproxy tx show {xid}' to see its branches.");
        }
        var outcome = TransactionOutcome.Of(shown.Transaction.Status);
        var images = new List<BranchImages>(branches.Count);
        foreach (var branch in branches)
        {
            var answer = await coordinator.GetBranchUndoAsync(new() { Xid = xid, BranchId = branch.BranchId }, cancellationToken);
            images.Add(new BranchImages(xid, branch, answer, outcome));
        }
        return images;
    }
}
