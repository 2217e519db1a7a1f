using AtProxy.Coordination;
using AtProxy.Resources;
using System.Diagnostics;
using AtProxy.Diagnostics;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace AtProxy.Phase2;

/// <summary>
/// The resource manager's side of phase 2: one long-lived stream per coordinator address,
/// subscribed for every resource this process wrapped, reconnecting with back-off. Commands are
/// run concurrently and answered on the stream they came from.
/// </summary>
internal sealed class ResourceManagerHost : IAsyncDisposable
{
    private readonly AtProxyOptions _options;
    private readonly CoordinatorClient _coordinator;
    private readonly ResourceRegistry _resources;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private readonly BranchRollbacker _rollbacker;
    private readonly AtProxyMetrics _metrics;
    private CancellationTokenSource _resubscribe = new();
    private int _started;

    public ResourceManagerHost(AtProxyOptions options, CoordinatorClient coordinator, ResourceRegistry resources, AtProxyMetrics metrics, ILogger logger)
    {
        _metrics = metrics;
        _options = options;
        _coordinator = coordinator;
        _resources = resources;
        _logger = logger;
        Outstanding = new OutstandingBranches(options.DefaultTransactionTimeout + TimeSpan.FromMinutes(10));
        WrittenUndo = new WrittenUndoLogs(options.DefaultTransactionTimeout + TimeSpan.FromMinutes(10));
        _rollbacker = new BranchRollbacker(WrittenUndo, _logger);
        UndoDeletion = new UndoDeletionQueue(options.UndoDeleteBatchSize, options.UndoDrainTimeout, _logger,
            retainCommitted: options.CommittedUndoRetention > TimeSpan.Zero);
        UndoPurge = new UndoLogPurger(resources, coordinator, options, _logger);
        InstanceId = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
        resources.Changed += OnResourcesChanged;
    }

    public string InstanceId { get; }

    public UndoDeletionQueue UndoDeletion { get; }

    /// <summary>This process's branches whose phase-2 command has not come yet.</summary>
    public OutstandingBranches Outstanding { get; }

    /// <summary>The undo rows this process wrote in phase 1 whose phase-2 command has not come yet, for the rollback's first round trip.</summary>
    public WrittenUndoLogs WrittenUndo { get; }

    /// <summary>Purges the undo rows of finished transactions in the background.</summary>
    public UndoLogPurger UndoPurge { get; }

    /// <summary>How many streams are subscribed right now.</summary>
    public int ConnectedStreams => Volatile.Read(ref _connected);

    private int _connected;

    /// <summary>Undo images read at once, at most: each holds a connection of the application's pool.</summary>
    private readonly SemaphoreSlim _undoReads = new(2, 2);

    /// <summary>The longest an undo-images read may take (the coordinator waits at most 10 s).</summary>
    private static readonly TimeSpan UndoReadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a stream being replaced waits for its commands in hand to be answered.</summary>
    private static readonly TimeSpan InHandGrace = TimeSpan.FromSeconds(10);

    /// <summary>The same when the client is disposed: the disposal waits for it, so it is kept short.</summary>
    private static readonly TimeSpan StoppingGrace = TimeSpan.FromSeconds(2);

    private void OnResourcesChanged()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            foreach (var channel in _coordinator.Channels)
            {
                _loops.Add(Task.Run(() => RunStreamLoopAsync(channel)));
            }
            return;
        }
        // A resource id came or went: every stream subscribes again with the current list.
        var previous = Interlocked.Exchange(ref _resubscribe, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }

    /// <summary>Waits until every coordinator stream is subscribed (or the timeout passes).</summary>
    public async Task<bool> WaitConnectedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (ConnectedStreams < _coordinator.Channels.Count)
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            await Task.Delay(10).ConfigureAwait(false);
        }
        return true;
    }

    private async Task RunStreamLoopAsync(GrpcChannel channel)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!_stopping.IsCancellationRequested)
        {
            var resubscribe = Volatile.Read(ref _resubscribe);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, SafeToken(resubscribe));
            try
            {
                await RunStreamAsync(channel, linked.Token, () => delay = TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
            }
            catch (Exception ex) when (linked.IsCancellationRequested || ex is RpcException or IOException or HttpRequestException or OperationCanceledException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }
                if (!linked.IsCancellationRequested)
                {
                    _logger.LogDebug(ex, "Phase-2 stream to {Address} ended; reconnecting in {Delay}", channel.Target, delay);
                }
            }
            if (!SafeToken(resubscribe).IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(delay, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
        }
    }

    private static CancellationToken SafeToken(CancellationTokenSource source)
    {
        try
        {
            return source.Token;
        }
        catch (ObjectDisposedException)
        {
            return new CancellationToken(canceled: true);
        }
    }

    private async Task RunStreamAsync(GrpcChannel channel, CancellationToken cancellationToken, Action onSubscribed)
    {
        var resourceIds = _resources.Ids;
        if (resourceIds.Count == 0)
        {
            // Nothing to serve (every data source was disposed): stay away until one is wrapped again.
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        var rm = new ResourceManager.ResourceManagerClient(channel);
        // Subscribing again, or stopping (the client is disposed), ends this stream only once the
        // commands in hand are answered and the coordinator has read the answers: a result lost with the
        // stream would leave the coordinator retrying a branch that is done, with nobody left to answer
        // it when the process exits. So stopping does not cancel the call itself; the graceful end does,
        // after a grace period at most.
        using var callStop = new CancellationTokenSource();
        var inHand = new InHandCommands();
        cancellationToken.ThrowIfCancellationRequested();
        using var call = rm.Connect(new CallOptions(_coordinator.Headers, cancellationToken: callStop.Token));
        var writeLock = new SemaphoreSlim(1, 1);
        using var ending = cancellationToken.Register(() => inHand.EndWhenAnswered(async () =>
        {
            await writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            finally
            {
                writeLock.Release();
            }
        }, callStop, _stopping.IsCancellationRequested ? StoppingGrace : InHandGrace));
        cancellationToken = callStop.Token;
        var subscribe = new Subscribe { ApplicationId = _options.ApplicationId, InstanceId = InstanceId };
        subscribe.ResourceIds.AddRange(resourceIds);
        await call.RequestStream.WriteAsync(new ResourceManagerMessage { Subscribe = subscribe }, cancellationToken).ConfigureAwait(false);

        var subscribed = false;
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                switch (message.KindCase)
                {
                    case CoordinatorMessage.KindOneofCase.Subscribed:
                        if (!subscribed)
                        {
                            subscribed = true;
                            Interlocked.Increment(ref _connected);
                            onSubscribed();
                        }
                        break;
                    case CoordinatorMessage.KindOneofCase.Command:
                        inHand.Track(HandleAsync(message.Command, call.RequestStream, writeLock, cancellationToken));
                        break;
                    case CoordinatorMessage.KindOneofCase.UndoImages:
                        // Off the reading loop, so a slow read never holds up the commands behind it. Not kept
                        // in hand: a lost answer only fails the operator's call, which may be asked again.
                        _ = Task.Run(() => AnswerUndoImagesAsync(message.UndoImages, call.RequestStream, writeLock, cancellationToken), CancellationToken.None);
                        break;
                }
            }
        }
        finally
        {
            if (subscribed)
            {
                Interlocked.Decrement(ref _connected);
            }
        }
    }

    private async Task HandleAsync(BranchCommand command, IClientStreamWriter<ResourceManagerMessage> writer, SemaphoreSlim writeLock, CancellationToken cancellationToken)
    {
        using var activity = AtProxyTelemetry.Start(command.Action == BranchAction.Commit ? "atproxy.phase2.commit" : "atproxy.phase2.rollback", command.Xid, ActivityKind.Server);
        activity?.SetTag(AtProxyTelemetry.BranchIdTag, command.BranchId);
        activity?.SetTag(AtProxyTelemetry.ResourceTag, command.ResourceId);
        var result = new BranchCommandResult { CorrelationId = command.CorrelationId };
        var resource = _resources.Find(command.ResourceId);
        if (resource is not { IsServed: true })
        {
            result.Status = command.Action == BranchAction.Commit ? BranchStatus.PhaseTwoCommitFailedRetryable : BranchStatus.PhaseTwoRollbackFailedRetryable;
            result.Message = $"resource {command.ResourceId} is not served by this process";
        }
        else if (await ResourceIdentityCheck.RefusalAsync(resource, command, cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            result.Status = command.Action == BranchAction.Commit ? BranchStatus.PhaseTwoCommitFailedRetryable : BranchStatus.PhaseTwoRollbackFailedRetryable;
            result.Message = refusal.Message;
            result.IdentityMismatch = refusal.IdentityMismatch;
            _logger.LogWarning("Phase 2 of branch {BranchId} of {Xid} refused: {Reason}", command.BranchId, command.Xid, refusal.Message);
        }
        else if (command.Action == BranchAction.Commit)
        {
            WrittenUndo.Forget(command.Xid, command.BranchId);
            UndoDeletion.Enqueue(resource, command.Xid, command.BranchId);
            result.Status = BranchStatus.PhaseTwoCommitted;
        }
        else
        {
            var rollingBack = Stopwatch.GetTimestamp();
            var outcome = await _rollbacker.RollbackAsync(resource, command.Xid, command.BranchId, cancellationToken).ConfigureAwait(false);
            _metrics.RolledBack(resource.Id, outcome.Status switch
            {
                BranchStatus.PhaseTwoRollbacked => "rolled_back",
                BranchStatus.PhaseTwoRollbackFailedUnretryable => "unretryable",
                _ => "retryable",
            }, rollingBack);
            result.Status = outcome.Status;
            result.Message = outcome.Message;
        }
        activity?.SetTag(AtProxyTelemetry.StatusTag, result.Status.ToString());
        try
        {
            await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await writer.WriteAsync(new ResourceManagerMessage { Result = result }, cancellationToken).ConfigureAwait(false);
                if (result.Status is BranchStatus.PhaseTwoCommitted or BranchStatus.PhaseTwoRollbacked or BranchStatus.PhaseTwoRollbackFailedUnretryable)
                {
                    Outstanding.Settle(command.Xid, command.BranchId);
                }
            }
            finally
            {
                writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or OperationCanceledException)
        {
            // The stream broke; the coordinator resends the command on a new one.
        }
    }

    private async Task AnswerUndoImagesAsync(UndoImagesRequest request, IClientStreamWriter<ResourceManagerMessage> writer, SemaphoreSlim writeLock, CancellationToken cancellationToken)
    {
        var result = new UndoImagesResult { CorrelationId = request.CorrelationId };
        try
        {
            await _undoReads.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                using var inTime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                inTime.CancelAfter(UndoReadTimeout);
                var resource = _resources.Find(request.ResourceId);
                if (resource is not { IsServed: true })
                {
                    result.Error = $"resource {request.ResourceId} is not served by this process";
                }
                else if (await ResourceIdentityCheck.RefusalAsync(resource, request.ResourceIdentity, request.Xid, request.BranchId, inTime.Token).ConfigureAwait(false) is { } refusal)
                {
                    result.Error = refusal.Message;
                    result.IdentityMismatch = refusal.IdentityMismatch;
                }
                else
                {
                    result.Images = await UndoImagesReader.ReadAsync(resource, request.Xid, request.BranchId, inTime.Token).ConfigureAwait(false);
                    result.Images.InstanceId = InstanceId;
                }
            }
            finally
            {
                _undoReads.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return; // the stream is ending; the coordinator fails the call itself
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Reading the undo images of branch {BranchId} of {Xid} on {Resource} failed", request.BranchId, request.Xid, request.ResourceId);
            result.Images = null;
            result.Error = ex is OperationCanceledException ? $"reading the undo images took longer than {UndoReadTimeout.TotalSeconds:0} s" : ex.Message;
        }
        try
        {
            await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await writer.WriteAsync(new ResourceManagerMessage { UndoImages = result }, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or OperationCanceledException)
        {
            // The stream broke; the coordinator fails the waiting call.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _resources.Changed -= OnResourcesChanged;
        _stopping.Cancel();
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await UndoPurge.DisposeAsync().ConfigureAwait(false);
        await UndoDeletion.DisposeAsync().ConfigureAwait(false);
    }
}
