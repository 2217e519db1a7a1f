using AtProxy.Coordinator.Coordination;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordinator.Services;

/// <summary>The transaction manager's calls, translated to <see cref="TransactionCoordinator"/>.</summary>
internal sealed class TransactionManagerService(TransactionCoordinator coordinator) : TransactionManager.TransactionManagerBase
{
    public override Task<BeginResponse> Begin(BeginRequest request, ServerCallContext context) => coordinator.BeginAsync(request);

    public override async Task<CommitResponse> Commit(CommitRequest request, ServerCallContext context) =>
        new() { Status = await coordinator.CommitAsync(request.Xid) };

    public override async Task<RollbackResponse> Rollback(RollbackRequest request, ServerCallContext context)
    {
        using var inTime = new AnswerInTime(context);
        return new() { Status = await coordinator.RollbackAsync(request.Xid, request.Reason, inTime.WaitEnds) };
    }

    public override async Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context) =>
        new() { Status = await coordinator.GetStatusAsync(request.Xid) };

    public override Task<GetStatusesResponse> GetStatuses(GetStatusesRequest request, ServerCallContext context) => coordinator.GetStatusesAsync(request);
}
