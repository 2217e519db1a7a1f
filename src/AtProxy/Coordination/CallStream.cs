using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace AtProxy.Coordination;

/// <summary>
/// One coordinator channel's call stream: opened on the first call and again on the first call after
/// it broke. A coordinator that answers it UNIMPLEMENTED (older) gets unary calls for
/// <c>retryInterval</c>; then the stream is tried again, so a coordinator upgraded in place gets it back.
/// </summary>
internal sealed partial class CallStream(GrpcChannel channel, Grpc.Core.Metadata headers, bool waitForReady, TimeSpan retryInterval, ILogger logger) : IAsyncDisposable
{
    /// <summary>
    /// The most calls waiting on one stream; more go as unary calls. Well below the coordinator's
    /// limit of 10,000 per stream, so a frame is never refused for it.
    /// </summary>
    private const int MaxWaiting = 5_000;

    private readonly SemaphoreSlim _opening = new(1, 1);
    private CallStreamSession? _session;
    // Environment.TickCount64 until which the coordinator counts as not serving the stream; 0: it serves it.
    private long _unsupportedUntil;
    private volatile bool _disposed;
    private long _answered;
    private long _refusals;

    /// <summary>True while the calls go as unary calls because the coordinator answered the stream UNIMPLEMENTED.</summary>
    public bool IsUnsupported => Environment.TickCount64 < Volatile.Read(ref _unsupportedUntil);

    /// <summary>How many calls the coordinator answered over this stream (for diagnosis and tests).</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>
    /// How many times the coordinator answered the stream UNIMPLEMENTED (for diagnosis and tests):
    /// unlike <see cref="IsUnsupported"/>, which lapses when the retry interval passes, it only grows.
    /// </summary>
    public long Refusals => Interlocked.Read(ref _refusals);

    /// <summary>False when this coordinator does not serve the stream, or the stream is full.</summary>
    public bool CanCarry => !IsUnsupported && !_disposed && (_session?.Waiting ?? 0) < MaxWaiting;

    /// <summary>
    /// Sends <paramref name="request"/> over the stream (opened first when needed) and returns its answer.
    /// Throws <see cref="CallStreamUnsupportedException"/> when the coordinator does not serve the stream,
    /// an <see cref="RpcException"/> that <see cref="CoordinatorSelection.IsTransportFailure"/> recognises
    /// when the stream broke before the answer, DEADLINE_EXCEEDED after <paramref name="deadline"/>.
    /// </summary>
    public async Task<CallAnswer> CallAsync(CallRequest request, DateTime deadline, CancellationToken cancellationToken)
    {
        var session = _session;
        if (session is null || session.IsBroken)
        {
            session = await OpenAsync(deadline, cancellationToken).ConfigureAwait(false);
        }
        var answer = await session.CallAsync(request, deadline, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _answered);
        return answer;
    }

    private async Task<CallStreamSession> OpenAsync(DateTime deadline, CancellationToken cancellationToken)
    {
        using var inTime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        inTime.CancelAfter(Max(deadline - DateTime.UtcNow, TimeSpan.Zero));
        try
        {
            await _opening.WaitAsync(inTime.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw NotOpenedInTime();
        }
        try
        {
            if (IsUnsupported)
            {
                throw new CallStreamUnsupportedException();
            }
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_session is { IsBroken: false } open)
            {
                return open; // another call opened it meanwhile
            }
            var lifetime = new CancellationTokenSource();
            var call = new Calls.CallsClient(channel).Open(new CallOptions(headers, cancellationToken: lifetime.Token).WithWaitForReady(waitForReady));
            try
            {
                // The coordinator's first frame, empty, says it serves the stream; a refusal (token, an
                // older coordinator) comes instead of it.
                if (!await call.ResponseStream.MoveNext(inTime.Token).ConfigureAwait(false))
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "The coordinator ended the call stream as it opened (it is stopping)."));
                }
            }
            catch (Exception ex)
            {
                lifetime.Cancel();
                call.Dispose();
                switch (ex)
                {
                    case RpcException { StatusCode: StatusCode.Unimplemented }:
                        MarkUnsupported();
                        throw new CallStreamUnsupportedException();
                    case OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled } when !cancellationToken.IsCancellationRequested:
                        throw NotOpenedInTime();
                    case RpcException { StatusCode: StatusCode.Cancelled }:
                        throw new OperationCanceledException(cancellationToken);
                    default:
                        throw;
                }
            }
            var session = new CallStreamSession(call, lifetime, Broken);
            _session = session;
            return session;
        }
        finally
        {
            _opening.Release();
        }
    }

    private void Broken(CallStreamSession session, Exception? reason)
    {
        if (reason is RpcException { StatusCode: StatusCode.Unimplemented })
        {
            MarkUnsupported();
        }
        Interlocked.CompareExchange(ref _session, null, session);
    }

    private void MarkUnsupported()
    {
        Interlocked.Increment(ref _refusals);
        Volatile.Write(ref _unsupportedUntil, Environment.TickCount64 + Math.Max(1, (long)retryInterval.TotalMilliseconds));
        LogRefused(logger, channel.Target, retryInterval.TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The coordinator at {Coordinator} does not serve the call stream (it is older, or Coordinator:ServeCallStream is false); calls to it go as unary calls, and the stream is tried again in {RetrySeconds} s.")]
    private static partial void LogRefused(ILogger logger, string coordinator, double retrySeconds);

    private static RpcException NotOpenedInTime() =>
        new(new Status(StatusCode.DeadlineExceeded, "The call stream to the coordinator did not open within the call's timeout."));

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        _session?.Close();
        return ValueTask.CompletedTask;
    }
}
