using AtProxy.Coordinator.Coordination;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace AtProxy.Coordinator.Services;

/// <summary>
/// One request read from the call stream, run exactly as its unary call is run (the same
/// <see cref="TransactionCoordinator"/> method, the same store-error handling, the request's
/// timeout as the deadline) and turned into its answer: the response, or the failure the unary
/// call would have ended with.
/// </summary>
internal sealed class StreamedCall(TransactionCoordinator coordinator, ILogger logger)
{
    /// <param name="request">The request; its case is set (see <see cref="CallsService"/>).</param>
    /// <param name="peer">Who sent it, for the log.</param>
    /// <param name="streamEnds">Cancelled when the client went away or the coordinator stops.</param>
    public async Task<CallAnswer> AnswerAsync(CallRequest request, string peer, CancellationToken streamEnds)
    {
        var deadline = request.TimeoutMs == 0 ? DateTime.MaxValue : DateTime.UtcNow.AddMilliseconds(request.TimeoutMs);
        // Waits end a little before the client's deadline, so it hears the answer (see AnswerInTime).
        using var inTime = new AnswerInTime(deadline, streamEnds);
        try
        {
            var answer = await StoreErrorInterceptor.RunAsync(() => RunAsync(request, inTime.WaitEnds), streamEnds);
            answer.Id = request.Id;
            return answer;
        }
        catch (RpcException ex)
        {
            return Failure(request.Id, ex.StatusCode, ex.Status.Detail);
        }
        catch (OperationCanceledException) when (streamEnds.IsCancellationRequested)
        {
            // The coordinator is stopping (or the client left, and hears nothing). UNAVAILABLE, not
            // CANCELLED: the client takes an answer as final, and this one must be sent again, which
            // every request allows (docs/DESIGN.md, "Calls that outlive a coordinator").
            return Failure(request.Id, StatusCode.Unavailable, $"The coordinator stopped before it answered request {request.Id}; send it again.");
        }
        catch (Exception ex)
        {
            Log.StreamedCallFailed(logger, request.RequestCase.ToString(), peer, ex);
            return Failure(request.Id, StatusCode.Internal, $"The coordinator failed to answer the {request.RequestCase} request: {ex.GetType().Name}.");
        }
    }

    public static CallAnswer Failure(ulong id, StatusCode code, string detail) =>
        new() { Id = id, Failure = new CallFailure { Code = (int)code, Detail = detail } };

    private async Task<CallAnswer> RunAsync(CallRequest request, CancellationToken waitEnds) => request.RequestCase switch
    {
        CallRequest.RequestOneofCase.Begin => new CallAnswer { Begin = await coordinator.BeginAsync(request.Begin) },
        CallRequest.RequestOneofCase.Commit => new CallAnswer { Commit = new CommitResponse { Status = await coordinator.CommitAsync(request.Commit.Xid) } },
        CallRequest.RequestOneofCase.Rollback => new CallAnswer
        {
            Rollback = new RollbackResponse { Status = await coordinator.RollbackAsync(request.Rollback.Xid, request.Rollback.Reason, waitEnds) },
        },
        CallRequest.RequestOneofCase.GetStatus => new CallAnswer { GetStatus = new GetStatusResponse { Status = await coordinator.GetStatusAsync(request.GetStatus.Xid) } },
        CallRequest.RequestOneofCase.GetStatuses => new CallAnswer { GetStatuses = await coordinator.GetStatusesAsync(request.GetStatuses) },
        CallRequest.RequestOneofCase.RegisterBranch => new CallAnswer { RegisterBranch = await coordinator.RegisterBranchAsync(request.RegisterBranch, waitEnds) },
        CallRequest.RequestOneofCase.ReportBranch => await ReportAsync(request.ReportBranch),
        CallRequest.RequestOneofCase.CheckLocks => new CallAnswer { CheckLocks = await coordinator.CheckLocksAsync(request.CheckLocks, waitEnds) },
        _ => throw new InvalidOperationException($"Request {request.Id} has no request case; CallsService refuses it before it is run."),
    };

    private async Task<CallAnswer> ReportAsync(ReportBranchRequest report)
    {
        await coordinator.ReportBranchAsync(report);
        return new CallAnswer { ReportBranch = new ReportBranchResponse() };
    }
}
