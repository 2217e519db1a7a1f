using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AtProxy.IntegrationTests.UndoImages;

/// <summary>
/// A resource manager's stream that subscribes and then never answers: what the coordinator sees of a
/// resource manager too old to know a request, or of one that dies in the middle of answering
/// (<see cref="Drop"/>). It also registers branches for its resource, as a proxy would.
/// </summary>
internal sealed class SilentResourceManager : IAsyncDisposable
{
    private readonly CancellationTokenSource _stream = new();
    private readonly AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> _call;
    private readonly GrpcChannel _channel;

    private SilentResourceManager(GrpcChannel channel, string resourceId)
    {
        _channel = channel;
        ResourceId = resourceId;
        _call = new ResourceManager.ResourceManagerClient(channel).Connect(cancellationToken: _stream.Token);
    }

    public string ResourceId { get; }

    public static async Task<SilentResourceManager> ConnectAsync(GrpcChannel channel, string resourceId)
    {
        var manager = new SilentResourceManager(channel, resourceId);
        await manager._call.RequestStream.WriteAsync(new ResourceManagerMessage
        {
            Subscribe = new Subscribe { ApplicationId = "silent", InstanceId = $"silent-{resourceId}", ResourceIds = { resourceId } },
        });
        var first = await manager.NextAsync();
        Assert.Equal(CoordinatorMessage.KindOneofCase.Subscribed, first.KindCase);
        return manager;
    }

    /// <summary>The next message the coordinator sends on the stream.</summary>
    public async Task<CoordinatorMessage> NextAsync()
    {
        Assert.True(await _call.ResponseStream.MoveNext(_stream.Token), "the coordinator ended the stream");
        return _call.ResponseStream.Current;
    }

    /// <summary>A global transaction (begun with no client of its own) with one branch on this resource: XID and branch id.</summary>
    public async Task<(string Xid, long BranchId)> BeginWithBranchAsync(string name)
    {
        var begun = await new TransactionManager.TransactionManagerClient(_channel)
            .BeginAsync(new BeginRequest { ApplicationId = "silent", Name = name, TimeoutMs = 600_000 });
        var registered = await new ResourceManager.ResourceManagerClient(_channel).RegisterBranchAsync(new RegisterBranchRequest
        {
            Xid = begun.Xid,
            ResourceId = ResourceId,
            ApplicationId = "silent",
            LockKeys = { new LockKey { Table = "public.ghost", PrimaryKey = name } },
        });
        Assert.True(registered.BranchId > 0);
        return (begun.Xid, registered.BranchId);
    }

    /// <summary>Breaks the stream, as a process that dies does.</summary>
    public void Drop() => _stream.Cancel();

    public ValueTask DisposeAsync()
    {
        _stream.Cancel();
        _call.Dispose();
        _stream.Dispose();
        return ValueTask.CompletedTask;
    }
}
