using AtProxy.Coordinator.Admin;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// A branch's undo images for a page: asked of the owning resource manager through the coordinator,
/// bounded in time so a silent resource manager cannot hold the page, and with the coordinator's
/// refusal (no resource manager connected, no answer) kept as the plain sentence to show instead.
/// </summary>
internal static class BranchUndoLookup
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public sealed record Result(GetBranchUndoResponse? Images, string? Problem);

    public static async Task<Result> ReadAsync(AdminOperations admin, string xid, long branchId, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Patience);
        try
        {
            var images = await admin.GetBranchUndoAsync(new GetBranchUndoRequest { Xid = xid, BranchId = branchId }, bounded.Token);
            return new Result(images, null);
        }
        catch (RpcException ex)
        {
            return new Result(null, $"{ex.StatusCode switch
            {
                StatusCode.Unavailable => "Not available",
                StatusCode.DeadlineExceeded => "No answer",
                StatusCode.NotFound => "Not found",
                _ => ex.StatusCode.ToString(),
            }}: {ex.Status.Detail}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Result(null, $"No answer: the resource manager did not send the undo images within {Patience.TotalSeconds:0} s.");
        }
    }
}
