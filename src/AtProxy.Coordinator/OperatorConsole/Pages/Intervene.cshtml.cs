using AtProxy.Coordinator.Storage;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>
/// An intervention in three steps: the form (a reason is required), a confirmation that says what
/// will happen in plain words, then the call. The form carries the status the operator saw; the
/// coordinator refuses the call when the transaction is in another status by then, so an operator
/// never acts on a stale view.
/// </summary>
internal sealed class InterveneModel : ConsolePage
{
    [BindProperty(SupportsGet = true)]
    public string? Xid { get; set; }

    [BindProperty(SupportsGet = true, Name = "action")]
    public string? ActionName { get; set; }

    [BindProperty(SupportsGet = true)]
    public long Branch { get; set; }

    [BindProperty]
    public GlobalStatus ExpectedStatus { get; set; }

    [BindProperty]
    public string? Reason { get; set; }

    [TempData]
    public string? Message { get; set; }

    public InterventionKind? Kind => InterventionKindNames.Parse(ActionName);

    public GetTransactionResponse? Shown { get; private set; }

    public bool Confirming { get; private set; }

    public string Consequence { get; private set; } = "";

    public string? Error { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        if (await LoadAsync())
        {
            ExpectedStatus = Shown!.Transaction.Status;
        }
        return Page();
    }

    public async Task<IActionResult> OnPostReviewAsync()
    {
        if (!await LoadAsync() || !HasReason())
        {
            return Page();
        }
        Reason = Reason.Trim();
        Confirming = true;
        Consequence = InterventionConsequence.Of(Kind!.Value, Shown!, Branch);
        return Page();
    }

    public async Task<IActionResult> OnPostConfirmAsync()
    {
        if (!await LoadAsync() || !HasReason())
        {
            return Page();
        }
        var xid = Shown!.Transaction.Xid;
        var reason = Reason.Trim();
        try
        {
            // On the shared store another coordinator may change the transaction while this one judges
            // the intervention: it is judged again on the new state (the status guard then speaks).
            var reached = await StoreConflictRerun.RunAsync(() => Kind switch
            {
                InterventionKind.Retry => Admin.RetryAsync(new InterveneRequest { Xid = xid, Reason = reason, ExpectedStatus = ExpectedStatus }, Actor),
                InterventionKind.ForceRollback => Admin.ForceRollbackAsync(new InterveneRequest { Xid = xid, Reason = reason, ExpectedStatus = ExpectedStatus }, Actor),
                InterventionKind.ForceCommit => Admin.ForceCommitAsync(new InterveneRequest { Xid = xid, Reason = reason, ExpectedStatus = ExpectedStatus }, Actor),
                _ => Admin.ForgetBranchAsync(new ForgetBranchRequest { Xid = xid, BranchId = Branch, Reason = reason, ExpectedStatus = ExpectedStatus }, Actor),
            }, HttpContext.RequestAborted);
            Message = $"{InterventionKindNames.Label(Kind!.Value)} done by {Actor}: {xid} is now {ConsoleFormat.Status(reached)}.";
            return Redirect($"/transaction?xid={Uri.EscapeDataString(xid)}");
        }
        catch (RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.FailedPrecondition or Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.NotFound)
        {
            // Nothing changed; the page shows the transaction as it is now, next to what the operator saw.
            Error = $"Refused, nothing was changed: {ex.Status.Detail}";
            Response.StatusCode = StatusCodes.Status409Conflict;
            await LoadAsync();
            return Page();
        }
        catch (Exception ex) when (ex is StoreUnavailableException or Npgsql.NpgsqlException)
        {
            Error = $"The coordinator could not record the intervention; nothing was changed. Try again: {ex.Message}";
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await LoadAsync();
            return Page();
        }
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Reason))]
    private bool HasReason()
    {
        if (string.IsNullOrWhiteSpace(Reason))
        {
            Error = "A reason is required: it is recorded with the intervention.";
            return false;
        }
        return true;
    }

    private async Task<bool> LoadAsync()
    {
        if (Kind is null)
        {
            Error = $"'{ActionName}' is not an intervention (retry, force_rollback, force_commit or forget_branch).";
            return false;
        }
        try
        {
            Shown = await Admin.GetTransactionAsync(new GetTransactionRequest { Xid = Xid?.Trim() ?? "" });
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.NotFound or Grpc.Core.StatusCode.InvalidArgument)
        {
            Error = ex.Status.Detail;
            return false;
        }
    }
}
