using AtProxy.Coordinator.Admin;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>Admin operations of the contract this coordinator does not implement yet.</summary>
internal static class PendingOperations
{
    public static Task<ListInterventionsResponse> ListInterventionsAsync(this AdminOperations admin, ListInterventionsRequest request) =>
        Task.FromResult(new ListInterventionsResponse());

    public static Task<GetBranchUndoResponse> GetBranchUndoAsync(this AdminOperations admin, GetBranchUndoRequest request, CancellationToken cancellationToken) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "This coordinator cannot read undo images yet."));
}
