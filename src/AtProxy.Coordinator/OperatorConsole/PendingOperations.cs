using AtProxy.Coordinator.Admin;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>Admin operations of the contract this coordinator does not implement yet.</summary>
internal static class PendingOperations
{
    public static Task<ListInterventionsResponse> ListInterventionsAsync(this AdminOperations admin, ListInterventionsRequest request) =>
        Task.FromResult(new ListInterventionsResponse());
}
