using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordinator;

/// <summary>Every gRPC error the coordinator answers with, built in one place with its message.</summary>
internal static class CoordinatorErrors
{
    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException MalformedXid(string problem) => InvalidArgument(problem);

    public static RpcException UnknownTransaction(string xid) =>
        new(new Status(StatusCode.NotFound, $"No global transaction '{xid}' is known (never begun here, or ended and purged)."));

    public static RpcException UnknownBranch(string xid, long branchId) =>
        new(new Status(StatusCode.NotFound, $"The global transaction '{xid}' has no branch {branchId}."));

    public static RpcException NotBegin(GlobalSession session, GlobalStatus status, string what) =>
        new(new Status(StatusCode.FailedPrecondition,
            $"Cannot {what}: the global transaction '{session.Xid}' is {StatusNames.Of(status)}, no longer BEGIN."));

    public static RpcException TimedOut(GlobalSession session, string what) =>
        new(new Status(StatusCode.FailedPrecondition,
            $"Cannot {what}: the global transaction '{session.Xid}' passed its timeout of {session.TimeoutMs} ms and is being rolled back."));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException NoResourceManager(string resourceId, string coordinatorId) =>
        new(new Status(StatusCode.Unavailable,
            $"No resource manager for '{resourceId}' is connected to this coordinator ({coordinatorId}). Start an application that wraps '{resourceId}', " +
            "or, when several coordinators share the store, ask the coordinator it is connected to (atproxy status lists each one's)."));

    public static RpcException ResourceManagerLost(string resourceId, string instanceId) =>
        new(new Status(StatusCode.Unavailable, $"The resource manager {instanceId} for '{resourceId}' disconnected before it answered; ask again."));

    public static RpcException UndoImagesUnreadable(string resourceId, string instanceId, string error) =>
        new(new Status(StatusCode.Unavailable, $"The resource manager ({instanceId}) for '{resourceId}' could not read the undo images: {error}"));

    public static RpcException ResourceManagerSilent(string resourceId, TimeSpan waited) =>
        new(new Status(StatusCode.DeadlineExceeded,
            $"The resource manager for '{resourceId}' did not answer within {waited.TotalMilliseconds:0} ms; it may be busy, or older than this coordinator " +
            "and not know the undo-images request (upgrade its AtProxy package)."));

    public static RpcException StoreUnavailable(Exception inner) =>
        new(new Status(StatusCode.Unavailable, $"The coordinator cannot record changes: {inner.Message}", inner));
}
