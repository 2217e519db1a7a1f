using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>
/// One transaction: its branches with what phase 2 waits for, its locks, history and interventions,
/// the interventions its status allows, and, for a branch whose rollback stopped, the rows it found.
/// </summary>
internal sealed class TransactionModel : ConsolePage
{
    [BindProperty(SupportsGet = true)]
    public string? Xid { get; set; }

    [TempData]
    public string? Message { get; set; }

    public GetTransactionResponse? Shown { get; private set; }

    public string? Error { get; private set; }

    public IReadOnlyList<InterventionKind> Actions { get; private set; } = [];

    public IReadOnlyList<Intervention> Interventions { get; private set; } = [];

    public IReadOnlyList<(BranchInfo Branch, BranchUndoLookup.Result Undo)> StoppedBranchUndo { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        try
        {
            Shown = await Admin.GetTransactionAsync(new GetTransactionRequest { Xid = Xid?.Trim() ?? "" });
        }
        catch (RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.NotFound or Grpc.Core.StatusCode.InvalidArgument)
        {
            Error = ex.Status.Detail;
            Response.StatusCode = StatusCodes.Status404NotFound;
            return Page();
        }
        var tx = Shown.Transaction;
        Actions = AllowedActions(tx.Status);
        Interventions = (await Admin.ListInterventionsAsync(new ListInterventionsRequest { Xid = tx.Xid })).Interventions;
        var stopped = new List<(BranchInfo, BranchUndoLookup.Result)>();
        foreach (var branch in tx.Branches.Where(b => b.Status == BranchStatus.PhaseTwoRollbackFailedUnretryable))
        {
            stopped.Add((branch, await BranchUndoLookup.ReadAsync(Admin, tx.Xid, branch.BranchId, cancellationToken)));
        }
        StoppedBranchUndo = stopped;
        return Page();
    }

    public bool CanForget(BranchInfo branch) =>
        !BranchStatusRules.IsDone(branch.Status) && Shown!.Transaction.Status != GlobalStatus.Begin && !GlobalStatusRules.IsEnded(Shown.Transaction.Status);

    // The buttons follow the coordinator's rules (AdminOperations), which still have the last word.
    private static List<InterventionKind> AllowedActions(GlobalStatus status)
    {
        var actions = new List<InterventionKind>();
        if (GlobalStatusRules.IsRetrying(status) || GlobalStatusRules.IsStopped(status))
        {
            actions.Add(InterventionKind.Retry);
        }
        if (status == GlobalStatus.Begin || (GlobalStatusRules.IsRollbackDirection(status) && !GlobalStatusRules.IsEnded(status)))
        {
            actions.Add(InterventionKind.ForceRollback);
        }
        if (status == GlobalStatus.Begin || (GlobalStatusRules.IsCommitDirection(status) && !GlobalStatusRules.IsEnded(status)))
        {
            actions.Add(InterventionKind.ForceCommit);
        }
        return actions;
    }
}
