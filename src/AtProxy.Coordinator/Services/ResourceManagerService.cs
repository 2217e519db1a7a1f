using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Coordination;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Services;

/// <summary>The resource manager's calls: branch registration and reports, lock checks, and the phase-2 stream.</summary>
internal sealed class ResourceManagerService(
    TransactionCoordinator coordinator,
    ResourceManagerHub hub,
    SessionChanges changes,
    IOptions<CoordinatorOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ResourceManagerService> logger) : ResourceManager.ResourceManagerBase
{
    public override async Task<RegisterBranchResponse> RegisterBranch(RegisterBranchRequest request, ServerCallContext context)
    {
        using var inTime = new AnswerInTime(context);
        return await coordinator.RegisterBranchAsync(request, inTime.WaitEnds);
    }

    public override async Task<ReportBranchResponse> ReportBranch(ReportBranchRequest request, ServerCallContext context)
    {
        await coordinator.ReportBranchAsync(request);
        return new ReportBranchResponse();
    }

    public override async Task<CheckLocksResponse> CheckLocks(CheckLocksRequest request, ServerCallContext context)
    {
        using var inTime = new AnswerInTime(context);
        return await coordinator.CheckLocksAsync(request, inTime.WaitEnds);
    }

    public override async Task Connect(IAsyncStreamReader<ResourceManagerMessage> requestStream, IServerStreamWriter<CoordinatorMessage> responseStream, ServerCallContext context)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        if (!await requestStream.MoveNext(stop.Token))
        {
            return; // closed before subscribing
        }
        var subscribe = requestStream.Current.KindCase == ResourceManagerMessage.KindOneofCase.Subscribe
            ? requestStream.Current.Subscribe
            : throw CoordinatorErrors.InvalidArgument($"The first message on the stream must be Subscribe, not {requestStream.Current.KindCase}.");
        Validate(subscribe);

        var connection = new ResourceManagerConnection(subscribe.ApplicationId, subscribe.InstanceId, [.. subscribe.ResourceIds.Distinct(StringComparer.Ordinal)],
            context.Peer, changes.NowUnixMs);
        // Routable before Subscribed is sent, so a resource manager that got it is sure to get the commands
        // sent from then on; they wait in the connection's queue until the writer starts after Subscribed.
        hub.Add(connection);
        var writer = Task.CompletedTask;
        try
        {
            await responseStream.WriteAsync(new CoordinatorMessage { Subscribed = new Subscribed { CoordinatorId = options.Value.NodeId } }, stop.Token);
            writer = connection.RunWriterAsync(responseStream, stop.Token);
            // A stream that cannot be written to is as good as closed: stop reading so its commands fail over.
            _ = writer.ContinueWith(_ => stop.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            Log.ResourceManagerConnected(logger, subscribe.InstanceId, subscribe.ApplicationId, string.Join(",", connection.ResourceIds), context.Peer);
            while (await requestStream.MoveNext(stop.Token))
            {
                var message = requestStream.Current;
                var expected = message.KindCase switch
                {
                    ResourceManagerMessage.KindOneofCase.Result => connection.Complete(message.Result),
                    ResourceManagerMessage.KindOneofCase.UndoImages => connection.Complete(message.UndoImages),
                    _ => throw CoordinatorErrors.InvalidArgument(
                        $"Only BranchCommandResult and UndoImagesResult may follow Subscribe on the stream, not {message.KindCase}."),
                };
                if (!expected)
                {
                    Log.UnexpectedResult(logger, connection.InstanceId, message.Result?.CorrelationId ?? message.UndoImages.CorrelationId);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The resource manager went away, or the coordinator is stopping.
        }
        catch (IOException)
        {
            // The connection broke.
        }
        finally
        {
            hub.Remove(connection);
            try
            {
                await writer;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
            }
            Log.ResourceManagerDisconnected(logger, connection.InstanceId, connection.ApplicationId);
        }
    }

    private static void Validate(Subscribe subscribe)
    {
        RequestValidation.RequireId(subscribe.ApplicationId, "subscribe.application_id", required: false);
        RequestValidation.RequireId(subscribe.InstanceId, "subscribe.instance_id", required: false);
        if (subscribe.ResourceIds.Count == 0)
        {
            throw CoordinatorErrors.InvalidArgument("subscribe.resource_ids is empty; a resource manager serves at least one resource.");
        }
        foreach (var resourceId in subscribe.ResourceIds)
        {
            RequestValidation.RequireId(resourceId, "subscribe.resource_ids[]");
        }
    }
}
