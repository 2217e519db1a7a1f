using System.Threading.Channels;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Coordination;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Services;

/// <summary>
/// The application's calls over one stream: each request read is started at once, concurrently
/// with the others, and answered when it is done; one writer sends whatever answers are ready as
/// one frame. A malformed request gets its own failure; the stream stays open.
/// </summary>
internal sealed class CallsService(
    TransactionCoordinator coordinator,
    IOptions<CoordinatorOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<CallsService> logger) : Calls.CallsBase
{
    /// <summary>The most requests one frame may carry; the rest of a frame are refused.</summary>
    public const int MaxRequestsPerFrame = 1_000;

    /// <summary>The most requests one stream may have unanswered.</summary>
    public const int MaxInFlight = 10_000;

    /// <summary>The most answers the writer puts in one frame.</summary>
    private const int MaxAnswersPerFrame = 1_000;

    private readonly StreamedCall _call = new(coordinator, logger);

    public override async Task Open(IAsyncStreamReader<CallFrame> requestStream, IServerStreamWriter<AnswerFrame> responseStream, ServerCallContext context)
    {
        if (!options.Value.ServeCallStream)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "This coordinator does not serve the call stream (Coordinator:ServeCallStream is false)."));
        }
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // A stream opened while stopping would end at once; the client sends its calls elsewhere or later.
            throw new RpcException(new Status(StatusCode.Unavailable, "The coordinator is stopping."));
        }
        // The first frame, empty, tells the client the stream is served (a refusal comes instead of it).
        await responseStream.WriteAsync(new AnswerFrame(), context.CancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var answers = Channel.CreateUnbounded<CallAnswer>(new UnboundedChannelOptions { SingleReader = true });
        var inFlight = new InFlightRequests();
        var writer = WriteAnswersAsync(answers.Reader, responseStream, context.CancellationToken);
        try
        {
            while (await requestStream.MoveNext(stop.Token))
            {
                var requests = requestStream.Current.Requests;
                for (var i = 0; i < requests.Count; i++)
                {
                    if (Refusal(requests[i], i, inFlight) is { } refusal)
                    {
                        answers.Writer.TryWrite(refusal);
                        continue;
                    }
                    var request = requests[i];
                    inFlight.TryStart(request.Id); // cannot fail: Refusal found the id free, and only this loop starts requests
                    _ = AnswerAsync(request, context.Peer, stop.Token, inFlight, answers.Writer);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client went away, or the coordinator is stopping.
        }
        catch (IOException)
        {
            // The connection broke.
        }
        // What is under way is answered (on shutdown its waits end early) before the stream ends cleanly;
        // the client sends anything it did not hear about to another coordinator or again later.
        await inFlight.AllAnsweredAsync();
        answers.Writer.TryComplete();
        try
        {
            await writer;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client is gone; nothing more can reach it.
        }
    }

    /// <summary>Why a request is refused before it is run, as its answer; null when it may run.</summary>
    private static CallAnswer? Refusal(CallRequest request, int positionInFrame, InFlightRequests inFlight)
    {
        if (positionInFrame >= MaxRequestsPerFrame)
        {
            return StreamedCall.Failure(request.Id, StatusCode.ResourceExhausted,
                $"Request {request.Id} is number {positionInFrame + 1} of its frame; a frame carries at most {MaxRequestsPerFrame} requests. Send it again in another frame.");
        }
        if (request.RequestCase == CallRequest.RequestOneofCase.None)
        {
            return StreamedCall.Failure(request.Id, StatusCode.InvalidArgument,
                $"Request {request.Id} sets no request (or one this coordinator does not know); set one of begin, commit, rollback, get_status, " +
                "get_statuses, register_branch, report_branch, check_locks.");
        }
        if (inFlight.Contains(request.Id))
        {
            return StreamedCall.Failure(request.Id, StatusCode.InvalidArgument,
                $"Request id {request.Id} is already in flight on this stream; an id may be used again only once its answer arrived.");
        }
        if (inFlight.Count >= MaxInFlight)
        {
            return StreamedCall.Failure(request.Id, StatusCode.ResourceExhausted,
                $"Request {request.Id} would be more than {MaxInFlight} unanswered on this stream; send it again once answers arrived.");
        }
        return null;
    }

    private async Task AnswerAsync(CallRequest request, string peer, CancellationToken streamEnds,
        InFlightRequests inFlight, ChannelWriter<CallAnswer> answers)
    {
        var answer = await _call.AnswerAsync(request, peer, streamEnds);
        inFlight.Free(request.Id);
        answers.TryWrite(answer);
        inFlight.Answered();
    }

    private static async Task WriteAnswersAsync(ChannelReader<CallAnswer> answers, IServerStreamWriter<AnswerFrame> responseStream, CancellationToken callEnds)
    {
        while (await answers.WaitToReadAsync(callEnds))
        {
            var frame = new AnswerFrame();
            while (frame.Answers.Count < MaxAnswersPerFrame && answers.TryRead(out var answer))
            {
                frame.Answers.Add(answer);
            }
            await responseStream.WriteAsync(frame, callEnds);
        }
    }
}
