using System.Threading.Channels;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AtProxy.Hosting;

/// <summary>
/// A resource manager on a coordinator's real phase-2 stream that answers every command with
/// success at once, for measuring the coordinator without databases behind it.
/// </summary>
public sealed class AcknowledgingResourceManager : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> _call;
    private readonly Channel<BranchCommandResult> _results = Channel.CreateUnbounded<BranchCommandResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loops = Task.CompletedTask;
    private long _answered;

    private AcknowledgingResourceManager(AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> call) => _call = call;

    /// <summary>How many commands were answered on the stream so far.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>Subscribes for <paramref name="resourceIds"/> and waits until the coordinator confirms it.</summary>
    public static async Task<AcknowledgingResourceManager> ConnectAsync(GrpcChannel channel, params string[] resourceIds)
    {
        var call = new ResourceManager.ResourceManagerClient(channel).Connect();
        var manager = new AcknowledgingResourceManager(call);
        var subscribe = new Subscribe { ApplicationId = "bench", InstanceId = $"bench-{Guid.NewGuid().ToString("N")[..6]}" };
        subscribe.ResourceIds.Add(resourceIds);
        await call.RequestStream.WriteAsync(new ResourceManagerMessage { Subscribe = subscribe }).ConfigureAwait(false);
        if (!await call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false) || call.ResponseStream.Current.KindCase != CoordinatorMessage.KindOneofCase.Subscribed)
        {
            throw new InvalidOperationException("The coordinator did not confirm the subscription.");
        }
        manager._loops = Task.WhenAll(manager.ReadAsync(), manager.WriteAsync());
        return manager;
    }

    /// <summary>Waits until <paramref name="count"/> commands in all were answered.</summary>
    public async Task WaitUntilAnsweredAsync(long count)
    {
        while (Answered < count)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token).ConfigureAwait(false))
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
            // Stopped, or the call was disposed while a read was pending.
        }
        _results.Writer.TryComplete();
    }

    private async Task WriteAsync()
    {
        try
        {
            await foreach (var result in _results.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                await _call.RequestStream.WriteAsync(new ResourceManagerMessage { Result = result }).ConfigureAwait(false);
                Interlocked.Increment(ref _answered);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the stream and waits for both loops to end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _call.Dispose();
        await _loops.ConfigureAwait(false);
    }
}
