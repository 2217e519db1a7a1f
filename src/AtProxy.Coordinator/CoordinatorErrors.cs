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

    public static RpcException StoreUnavailable(Exception inner) =>
        new(new Status(StatusCode.Unavailable, $"The coordinator cannot record changes: {inner.Message}", inner));
}
