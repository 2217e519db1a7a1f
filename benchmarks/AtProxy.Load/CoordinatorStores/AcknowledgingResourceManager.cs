using System.Threading.Channels;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AtProxy.Load.CoordinatorStores;

/// <summary>A resource manager on the real phase-2 stream of one coordinator that answers every command with success at once.</summary>
internal sealed class AcknowledgingResourceManager : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> _call;
    private readonly Channel<BranchCommandResult> _results = Channel.CreateUnbounded<BranchCommandResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loops = Task.CompletedTask;

    private AcknowledgingResourceManager(AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> call) => _call = call;

    public static async Task<AcknowledgingResourceManager> ConnectAsync(GrpcChannel channel, params string[] resourceIds)
    {
        var call = new ResourceManager.ResourceManagerClient(channel).Connect();
        var manager = new AcknowledgingResourceManager(call);
        var subscribe = new Subscribe { ApplicationId = "store-bench", InstanceId = $"store-bench-{Guid.NewGuid().ToString("N")[..6]}" };
        subscribe.ResourceIds.Add(resourceIds);
        await call.RequestStream.WriteAsync(new ResourceManagerMessage { Subscribe = subscribe });
        if (!await call.ResponseStream.MoveNext(CancellationToken.None) || call.ResponseStream.Current.KindCase != CoordinatorMessage.KindOneofCase.Subscribed)
        {
            throw new InvalidOperationException("The coordinator did not confirm the subscription.");
        }
        manager._loops = Task.WhenAll(manager.ReadAsync(), manager.WriteAsync());
        return manager;
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token))
            {
                if (_call.ResponseStream.Current.Command is { } command)
                {
                    _results.Writer.TryWrite(new BranchCommandResult
                    {
                        CorrelationId = command.CorrelationId,
                        Status = command.Action == BranchAction.Commit ? BranchStatus.PhaseTwoCommitted : BranchStatus.PhaseTwoRollbacked,
                    });
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or ObjectDisposedException)
        {
        }
        _results.Writer.TryComplete();
    }

    private async Task WriteAsync()
    {
        try
        {
            await foreach (var result in _results.Reader.ReadAllAsync())
            {
                await _call.RequestStream.WriteAsync(new ResourceManagerMessage { Result = result });
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _call.Dispose();
        await _loops;
    }
}
