using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>One branch's rows: before, after and current values, with the changed and dirty ones marked.</summary>
internal sealed class UndoModel : ConsolePage
{
    [BindProperty(SupportsGet = true)]
    public string? Xid { get; set; }

    [BindProperty(SupportsGet = true)]
    public long Branch { get; set; }

    public BranchInfo? BranchInfo { get; private set; }

    public BranchUndoLookup.Result Undo { get; private set; } = new(null, null);

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var xid = Xid?.Trim() ?? "";
        try
        {
            BranchInfo = (await Admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid })).Transaction.Branches.FirstOrDefault(b => b.BranchId == Branch);
        }
        catch (RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.NotFound or Grpc.Core.StatusCode.InvalidArgument)
        {
            // The undo images may outlive the transaction's retention; ask the resource manager anyway.
        }
        Undo = await BranchUndoLookup.ReadAsync(Admin, xid, Branch, cancellationToken);
    }
}
