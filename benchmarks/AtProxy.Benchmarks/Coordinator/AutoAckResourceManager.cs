using System.Threading.Channels;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AtProxy.Benchmarks.Coordinator;

/// <summary>A resource manager on the real stream that answers every phase-2 command with success at once.</summary>
internal sealed class AutoAckResourceManager : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> _call;
    private readonly Channel<BranchCommandResult> _results = Channel.CreateUnbounded<BranchCommandResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private Task _writer = Task.CompletedTask;
    private long _answered;

    private AutoAckResourceManager(AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> call) => _call = call;

    /// <summary>How many commands were answered on the stream so far.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>Waits until <paramref name="count"/> commands in all were answered.</summary>
    public async Task WaitUntilAnsweredAsync(long count)
    {
        while (Answered < count)
        {
            await Task.Delay(1);
        }
    }

    public static async Task<AutoAckResourceManager> ConnectAsync(GrpcChannel channel, params string[] resourceIds)
    {
        var call = new ResourceManager.ResourceManagerClient(channel).Connect();
        var manager = new AutoAckResourceManager(call);
        var subscribe = new Subscribe { ApplicationId = "bench", InstanceId = "bench-rm" };
        subscribe.ResourceIds.Add(resourceIds);
        await call.RequestStream.WriteAsync(new ResourceManagerMessage { Subscribe = subscribe });
        if (!await call.ResponseStream.MoveNext(CancellationToken.None) || call.ResponseStream.Current.KindCase != CoordinatorMessage.KindOneofCase.Subscribed)
        {
            throw new InvalidOperationException("The coordinator did not confirm the subscription.");
        }
        manager._reader = manager.ReadAsync();
        manager._writer = manager.WriteAsync();
        return manager;
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token))
            {
                var command = _call.ResponseStream.Current.Command;
                if (command is null)
                {
                    continue;
                }
                _results.Writer.TryWrite(new BranchCommandResult
                {
                    CorrelationId = command.CorrelationId,
                    Status = command.Action == BranchAction.Commit ? BranchStatus.PhaseTwoCommitted : BranchStatus.PhaseTwoRollbacked,
                });
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
            await foreach (var result in _results.Reader.ReadAllAsync())
            {
                await _call.RequestStream.WriteAsync(new ResourceManagerMessage { Result = result });
                Interlocked.Increment(ref _answered);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _call.Dispose();
        await Task.WhenAll(_reader, _writer);
    }
}
