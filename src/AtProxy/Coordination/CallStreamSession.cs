using System.Collections.Concurrent;
using System.Threading.Channels;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordination;

/// <summary>
/// One open call stream: a send loop drains the queued requests into one frame at a time, a
/// receive loop hands each answer to the call waiting for its id. When the stream breaks, every
/// call still waiting fails as a transport failure (UNAVAILABLE), which the caller sends again;
/// a session that broke is never used again.
/// </summary>
internal sealed class CallStreamSession
{
    /// <summary>The most requests one frame carries (the coordinator refuses more).</summary>
    private const int MaxRequestsPerFrame = 1_000;

    private readonly AsyncDuplexStreamingCall<CallFrame, AnswerFrame> _call;
    private readonly CancellationTokenSource _lifetime;
    private readonly Action<CallStreamSession, Exception?> _broken;
    private readonly Channel<CallRequest> _outgoing = Channel.CreateUnbounded<CallRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<CallAnswer>> _pending = new();
    private long _nextId;
    private int _waiting; // _pending's count, read on every call (ConcurrentDictionary.Count takes every lock)
    private int _isBroken;
    private Exception? _brokeBecause;

    /// <param name="call">The stream, its first (empty) frame already received.</param>
    /// <param name="lifetime">Cancels the stream when the session breaks.</param>
    /// <param name="broken">Told once, when the session broke, with why (null: the coordinator ended it).</param>
    public CallStreamSession(AsyncDuplexStreamingCall<CallFrame, AnswerFrame> call, CancellationTokenSource lifetime, Action<CallStreamSession, Exception?> broken)
    {
        _call = call;
        _lifetime = lifetime;
        _broken = broken;
        _ = SendAsync();
        _ = ReceiveAsync();
    }

    public bool IsBroken => Volatile.Read(ref _isBroken) == 1;

    /// <summary>Calls sent and not yet answered.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Sends <paramref name="request"/> with the next id and waits for its answer until
    /// <paramref name="deadline"/>: DEADLINE_EXCEEDED after it, the caller's cancellation when
    /// cancelled (the coordinator may still run the call; every call is safe to send twice).
    /// </summary>
    public async Task<CallAnswer> CallAsync(CallRequest request, DateTime deadline, CancellationToken cancellationToken)
    {
        var left = deadline - DateTime.UtcNow;
        if (left <= TimeSpan.Zero)
        {
            throw NoAnswerInTime();
        }
        var id = (ulong)Interlocked.Increment(ref _nextId);
        request.Id = id;
        request.TimeoutMs = (uint)Math.Clamp(Math.Ceiling(left.TotalMilliseconds), 1, uint.MaxValue);
        var answer = new TaskCompletionSource<CallAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        Interlocked.Increment(ref _waiting);
        // A break that came before the entry was added did not fail it: fail it here.
        if (IsBroken && TryTake(id, out _))
        {
            throw FailureOf(Volatile.Read(ref _brokeBecause));
        }
        _outgoing.Writer.TryWrite(request);
        try
        {
            return await answer.Task.WaitAsync(left, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            TryTake(id, out _);
            throw NoAnswerInTime();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            TryTake(id, out _);
            throw;
        }
    }

    /// <summary>Ends the stream; calls still waiting fail as transport failures.</summary>
    public void Close() => Break(new ObjectDisposedException(nameof(CallStreamSession)));

    private async Task SendAsync()
    {
        try
        {
            while (await _outgoing.Reader.WaitToReadAsync(_lifetime.Token).ConfigureAwait(false))
            {
                var frame = new CallFrame();
                while (frame.Requests.Count < MaxRequestsPerFrame && _outgoing.Reader.TryRead(out var request))
                {
                    // A call that gave up (deadline, cancellation) before its turn is not sent.
                    if (_pending.ContainsKey(request.Id))
                    {
                        frame.Requests.Add(request);
                    }
                }
                if (frame.Requests.Count > 0)
                {
                    await _call.RequestStream.WriteAsync(frame, _lifetime.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            Break(ex);
        }
    }

    private async Task ReceiveAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_lifetime.Token).ConfigureAwait(false))
            {
                foreach (var answer in _call.ResponseStream.Current.Answers)
                {
                    // No entry: the call gave up waiting; its answer is dropped.
                    if (TryTake(answer.Id, out var waiting))
                    {
                        waiting.TrySetResult(answer);
                    }
                }
            }
            Break(null);
        }
        catch (Exception ex)
        {
            Break(ex);
        }
    }

    private bool TryTake(ulong id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskCompletionSource<CallAnswer>? waiting)
    {
        if (!_pending.TryRemove(id, out waiting))
        {
            return false;
        }
        Interlocked.Decrement(ref _waiting);
        return true;
    }

    private void Break(Exception? reason)
    {
        if (Interlocked.Exchange(ref _isBroken, 1) == 1)
        {
            return;
        }
        Volatile.Write(ref _brokeBecause, reason);
        _outgoing.Writer.TryComplete();
        _broken(this, reason);
        foreach (var id in _pending.Keys)
        {
            if (TryTake(id, out var waiting))
            {
                waiting.TrySetException(FailureOf(reason));
            }
        }
        _lifetime.Cancel();
        _call.Dispose();
    }

    /// <summary>
    /// What a call that was sent and not answered fails with: the coordinator's refusal of the stream
    /// itself (final), that it does not serve it (sent as a unary call instead), else a transport failure.
    /// </summary>
    private static Exception FailureOf(Exception? reason) => reason switch
    {
        RpcException { StatusCode: StatusCode.Unimplemented } => new CallStreamUnsupportedException(),
        RpcException { StatusCode: StatusCode.Unauthenticated or StatusCode.PermissionDenied } refused => new RpcException(refused.Status),
        null => new RpcException(new Status(StatusCode.Unavailable, "The coordinator ended the call stream (it is stopping) before it answered.")),
        _ => new RpcException(new Status(StatusCode.Unavailable, $"The call stream broke before the coordinator answered: {reason.Message}", reason)),
    };

    private static RpcException NoAnswerInTime() =>
        new(new Status(StatusCode.DeadlineExceeded, "The coordinator did not answer on the call stream within the call's timeout."));
}
