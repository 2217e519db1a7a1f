using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AtProxy.Coordination;

/// <summary>
/// The proxy's calls to the coordinator: one HTTP/2 channel per configured address, calls sent
/// to the first address that answers, gRPC failures turned into AtProxy's exceptions.
/// </summary>
internal sealed class CoordinatorClient : IAsyncDisposable
{
    private readonly AtProxyOptions _options;
    private readonly GrpcChannel[] _channels;
    private readonly Grpc.Core.Metadata _headers;
    private int _preferred;

    public CoordinatorClient(AtProxyOptions options)
    {
        _options = options;
        _channels = options.AllCoordinators().Select(CreateChannel).ToArray();
        _headers = new Grpc.Core.Metadata();
        if (!string.IsNullOrEmpty(options.ApplicationToken))
        {
            _headers.Add("authorization", "Bearer " + options.ApplicationToken);
        }
    }

    public IReadOnlyList<GrpcChannel> Channels => _channels;

    public Grpc.Core.Metadata Headers => _headers;

    internal static GrpcChannel CreateChannel(Uri address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            // Many concurrent global transactions must not queue behind one connection's stream limit.
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        },
        MaxReceiveMessageSize = 16 * 1024 * 1024,
    });

    public async Task<BeginResponse> BeginAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var request = new BeginRequest
        {
            ApplicationId = _options.ApplicationId,
            Name = name,
            TimeoutMs = (uint)Math.Clamp(timeout.TotalMilliseconds, 1, uint.MaxValue),
        };
        return await CallAsync("begin a global transaction", (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).BeginAsync(request, call), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GlobalTransactionStatus> CommitAsync(string xid, CancellationToken cancellationToken)
    {
        var response = await CallAsync($"commit {xid}", (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).CommitAsync(new CommitRequest { Xid = xid }, call), cancellationToken, xid).ConfigureAwait(false);
        return (GlobalTransactionStatus)response.Status;
    }

    public async Task<GlobalTransactionStatus> RollbackAsync(string xid, CancellationToken cancellationToken)
    {
        var response = await CallAsync($"roll back {xid}", (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).RollbackAsync(new RollbackRequest { Xid = xid }, call), cancellationToken, xid).ConfigureAwait(false);
        return (GlobalTransactionStatus)response.Status;
    }

    public async Task<GlobalTransactionStatus> GetStatusAsync(string xid, CancellationToken cancellationToken)
    {
        var response = await CallAsync($"read the status of {xid}", (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).GetStatusAsync(new GetStatusRequest { Xid = xid }, call), cancellationToken, xid).ConfigureAwait(false);
        return (GlobalTransactionStatus)response.Status;
    }

    /// <summary>
    /// The status of each XID in one call (at most 1,000); <see cref="GlobalTransactionStatus.Unknown"/>
    /// when the coordinator answered that it does not know it.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, GlobalTransactionStatus>> GetStatusesAsync(IReadOnlyCollection<string> xids, CancellationToken cancellationToken)
    {
        var request = new GetStatusesRequest();
        request.Xids.AddRange(xids);
        var response = await CallAsync($"read the status of {xids.Count} global transaction(s)", (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).GetStatusesAsync(request, call), cancellationToken).ConfigureAwait(false);
        var statuses = new Dictionary<string, GlobalTransactionStatus>(StringComparer.Ordinal);
        foreach (var status in response.Statuses)
        {
            statuses[status.Xid] = (GlobalTransactionStatus)status.Status;
        }
        return statuses;
    }

    public Task<RegisterBranchResponse> RegisterBranchAsync(RegisterBranchRequest request, CancellationToken cancellationToken) =>
        CallAsync($"register a branch of {request.Xid}", (channel, call) =>
            new ResourceManager.ResourceManagerClient(channel).RegisterBranchAsync(request, call), cancellationToken, request.Xid);

    public Task<ReportBranchResponse> ReportBranchAsync(ReportBranchRequest request, CancellationToken cancellationToken) =>
        CallAsync($"report branch {request.BranchId} of {request.Xid}", (channel, call) =>
            new ResourceManager.ResourceManagerClient(channel).ReportBranchAsync(request, call), cancellationToken, request.Xid);

    public Task<CheckLocksResponse> CheckLocksAsync(CheckLocksRequest request, CancellationToken cancellationToken) =>
        CallAsync("check global locks", (channel, call) =>
            new ResourceManager.ResourceManagerClient(channel).CheckLocksAsync(request, call), cancellationToken, request.Xid);

    /// <summary>
    /// Sends a call to the preferred coordinator and, when it is unreachable, to the next one.
    /// Only transport failures move on; an answer (even an error) from a coordinator is final.
    /// </summary>
    private async Task<T> CallAsync<T>(string what, Func<GrpcChannel, CallOptions, AsyncUnaryCall<T>> call, CancellationToken cancellationToken, string? xid = null)
    {
        RpcException? lastUnavailable = null;
        for (var attempt = 0; attempt < _channels.Length; attempt++)
        {
            var index = (Volatile.Read(ref _preferred) + attempt) % _channels.Length;
            var options = new CallOptions(_headers, DateTime.UtcNow + _options.CoordinatorCallTimeout, cancellationToken);
            try
            {
                var result = await call(_channels[index], options);
                if (attempt > 0)
                {
                    Volatile.Write(ref _preferred, index);
                }
                return result;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && !cancellationToken.IsCancellationRequested)
            {
                lastUnavailable = ex;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException ex)
            {
                throw Translate(what, ex, xid);
            }
        }
        throw new CoordinatorUnavailableException(
            $"Could not {what}: no coordinator answered ({string.Join(", ", _options.AllCoordinators())}). " +
            $"Check that the coordinator runs and AtProxyOptions.Coordinator points at it. {lastUnavailable?.Status.Detail}", lastUnavailable);
    }

    private static AtProxyException Translate(string what, RpcException ex, string? xid) => ex.StatusCode switch
    {
        StatusCode.NotFound when xid is not null => new GlobalTransactionException(
            $"Could not {what}: the coordinator does not know global transaction {xid} ({ex.Status.Detail}).", xid, GlobalTransactionStatus.Unknown, ex),
        StatusCode.FailedPrecondition when xid is not null => new GlobalTransactionException(
            $"Could not {what}: {ex.Status.Detail}", xid, GlobalTransactionStatus.Unknown, ex),
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => new AtProxyException(
            $"The coordinator refused to {what}: {ex.Status.Detail} Check AtProxyOptions.ApplicationToken.", ex),
        _ => new AtProxyException($"Could not {what}: the coordinator answered {ex.StatusCode}: {ex.Status.Detail}", ex),
    };

    public ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
