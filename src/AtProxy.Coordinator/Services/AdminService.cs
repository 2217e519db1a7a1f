using AtProxy.Coordinator.Admin;
using AtProxy.Coordinator.Security;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordinator.Services;

/// <summary>The operator's calls, translated to <see cref="AdminOperations"/>.</summary>
internal sealed class AdminService(AdminOperations operations) : Protocol.V1.Admin.AdminBase
{
    public override Task<ListTransactionsResponse> ListTransactions(ListTransactionsRequest request, ServerCallContext context) =>
        operations.ListTransactionsAsync(request);

    public override Task<GetTransactionResponse> GetTransaction(GetTransactionRequest request, ServerCallContext context) =>
        operations.GetTransactionAsync(request);

    public override Task<ListLocksResponse> ListLocks(ListLocksRequest request, ServerCallContext context) =>
        operations.ListLocksAsync(request);

    public override async Task<InterveneResponse> Retry(InterveneRequest request, ServerCallContext context) =>
        new() { Status = await operations.RetryAsync(request, OperatorIdentity.Of(context)) };

    public override async Task<InterveneResponse> ForceRollback(InterveneRequest request, ServerCallContext context) =>
        new() { Status = await operations.ForceRollbackAsync(request, OperatorIdentity.Of(context)) };

    public override async Task<InterveneResponse> ForceCommit(InterveneRequest request, ServerCallContext context) =>
        new() { Status = await operations.ForceCommitAsync(request, OperatorIdentity.Of(context)) };

    public override async Task<InterveneResponse> ForgetBranch(ForgetBranchRequest request, ServerCallContext context) =>
        new() { Status = await operations.ForgetBranchAsync(request, OperatorIdentity.Of(context)) };

    public override Task<GetCoordinatorStatusResponse> GetCoordinatorStatus(GetCoordinatorStatusRequest request, ServerCallContext context) =>
        operations.GetCoordinatorStatusAsync();

    public override async Task<GetBranchUndoResponse> GetBranchUndo(GetBranchUndoRequest request, ServerCallContext context)
    {
        // Ends a little before the caller's deadline, so the caller hears why (see AnswerInTime).
        using var inTime = new AnswerInTime(context);
        return await operations.GetBranchUndoAsync(request, inTime.WaitEnds);
    }

    public override Task<ListAlertsResponse> ListAlerts(ListAlertsRequest request, ServerCallContext context) =>
        Task.FromResult(operations.ListAlerts());

    public override Task<ListInterventionsResponse> ListInterventions(ListInterventionsRequest request, ServerCallContext context) =>
        operations.ListInterventionsAsync(request);
}
