using System.Collections.Concurrent;
using System.Threading.Channels;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordinator.ResourceManagers;

/// <summary>
/// One subscribed resource manager stream. Commands are queued to a single writer (a gRPC
/// stream allows one write at a time); results are matched to their command by correlation id.
/// Undo-image requests share the queue and the correlation ids, and are answered in any order.
/// </summary>
internal sealed class ResourceManagerConnection
{
    private readonly Channel<CoordinatorMessage> _outbox = Channel.CreateUnbounded<CoordinatorMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, TaskCompletionSource<BranchCommandResult>> _pending = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<UndoImagesResult>> _pendingUndoImages = new();
    private long _lastCorrelationId;
    private volatile bool _closed;

    public ResourceManagerConnection(string applicationId, string instanceId, IReadOnlyList<string> resourceIds, string peer, long connectedUnixMs)
    {
        ApplicationId = applicationId;
        InstanceId = instanceId;
        ResourceIds = resourceIds;
        Peer = peer;
        ConnectedUnixMs = connectedUnixMs;
    }

    public string ApplicationId { get; }

    public string InstanceId { get; }

    public IReadOnlyList<string> ResourceIds { get; }

    public string Peer { get; }

    public long ConnectedUnixMs { get; }

    public bool IsClosed => _closed;

    /// <summary>Sends a command and waits for its result, at most <paramref name="timeout"/>.</summary>
    public async Task<BranchCommandOutcome> SendAsync(BranchAction action, string xid, long branchId, string resourceId, string resourceIdentity, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var correlationId = Interlocked.Increment(ref _lastCorrelationId);
        var result = new TaskCompletionSource<BranchCommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[correlationId] = result;
        try
        {
            var command = new CoordinatorMessage
            {
                Command = new BranchCommand { CorrelationId = correlationId, Action = action, Xid = xid, BranchId = branchId, ResourceId = resourceId, ResourceIdentity = resourceIdentity },
            };
            if (_closed || !_outbox.Writer.TryWrite(command))
            {
                return BranchCommandOutcome.Retry(action, $"The resource manager {InstanceId} disconnected before the command was sent.");
            }
            var answer = await result.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return BranchCommandOutcome.FromResult(action, answer);
        }
        catch (TimeoutException)
        {
            return BranchCommandOutcome.Retry(action, $"The resource manager {InstanceId} did not answer within {timeout.TotalMilliseconds:0} ms.");
        }
        catch (ResourceManagerDisconnectedException)
        {
            return BranchCommandOutcome.Retry(action, $"The resource manager {InstanceId} disconnected before it answered.");
        }
        finally
        {
            _pending.TryRemove(correlationId, out _);
        }
    }

    /// <summary>
    /// Asks for a branch's undo images and waits for the answer until <paramref name="cancellationToken"/>.
    /// Throws <see cref="ResourceManagerDisconnectedException"/> as soon as the stream is lost.
    /// </summary>
    public async Task<UndoImagesResult> RequestUndoImagesAsync(UndoImagesRequest request, CancellationToken cancellationToken)
    {
        var correlationId = Interlocked.Increment(ref _lastCorrelationId);
        var answer = new TaskCompletionSource<UndoImagesResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingUndoImages[correlationId] = answer;
        try
        {
            var message = new CoordinatorMessage { UndoImages = request.Clone() };
            message.UndoImages.CorrelationId = correlationId;
            // Registered before the check: a Close() that runs meanwhile either sees it or is seen here.
            if (_closed || !_outbox.Writer.TryWrite(message))
            {
                throw new ResourceManagerDisconnectedException();
            }
            return await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pendingUndoImages.TryRemove(correlationId, out _);
        }
    }

    /// <summary>
    /// Writes queued commands to the stream until it closes. Commands queued behind the one being
    /// written go out in the same flush: under load, many transactions reach phase 2 at once.
    /// </summary>
    public async Task RunWriterAsync(IServerStreamWriter<CoordinatorMessage> stream, CancellationToken cancellationToken)
    {
        var reader = _outbox.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var message))
            {
                stream.WriteOptions = reader.TryPeek(out _) ? BufferedWrite : FlushedWrite;
                await stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // A write with BufferHint only appends to the response; the next write without it flushes both.
    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);
    private static readonly WriteOptions FlushedWrite = new();

    /// <summary>Completes the command the result answers; false when no such command is waiting (late or unknown).</summary>
    public bool Complete(BranchCommandResult result) =>
        _pending.TryRemove(result.CorrelationId, out var waiting) && waiting.TrySetResult(result);

    /// <summary>Completes the undo-image request the result answers; false when none is waiting (late or unknown).</summary>
    public bool Complete(UndoImagesResult result) =>
        _pendingUndoImages.TryRemove(result.CorrelationId, out var waiting) && waiting.TrySetResult(result);

    /// <summary>
    /// Stops the writer and fails every command still waiting, so phase 2 retries them, and every
    /// undo-image request, so its caller hears at once that the resource manager is gone.
    /// </summary>
    public void Close()
    {
        _closed = true;
        _outbox.Writer.TryComplete();
        foreach (var (id, waiting) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                waiting.TrySetException(new ResourceManagerDisconnectedException());
            }
        }
        foreach (var (id, waiting) in _pendingUndoImages)
        {
            if (_pendingUndoImages.TryRemove(id, out _))
            {
                waiting.TrySetException(new ResourceManagerDisconnectedException());
            }
        }
    }

    /// <summary>The stream was lost before the resource manager answered.</summary>
    internal sealed class ResourceManagerDisconnectedException : Exception;
}
