using AtProxy.Diagnostics;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AtProxy.Coordination;

/// <summary>
/// The proxy's calls to the coordinator: one HTTP/2 channel per configured address, calls sent
/// to the first address that answers (batched over the channel's <see cref="CallStream"/>, or as
/// unary calls), gRPC failures turned into AtProxy's exceptions.
/// </summary>
internal sealed class CoordinatorClient : IAsyncDisposable
{
    private readonly AtProxyOptions _options;
    private readonly GrpcChannel[] _channels;
    private readonly Grpc.Core.Metadata _headers;
    private readonly CallStream[]? _streams;
    private readonly AtProxyMetrics? _metrics;
    private int _preferred;

    /// <param name="options">The coordinators and the call settings.</param>
    /// <param name="metrics">Counts the calls by transport (none in tools and benchmarks).</param>
    /// <param name="logger">Says when a coordinator refuses the call stream.</param>
    public CoordinatorClient(AtProxyOptions options, AtProxyMetrics? metrics = null, ILogger? logger = null)
    {
        _options = options;
        _metrics = metrics;
        _channels = options.AllCoordinators().Select(CreateChannel).ToArray();
        _headers = new Grpc.Core.Metadata();
        if (!string.IsNullOrEmpty(options.ApplicationToken))
        {
            _headers.Add("authorization", "Bearer " + options.ApplicationToken);
        }
        if (options.UseCallStream)
        {
            // With one coordinator a call waits for it to come back; with several it tries the next.
            _streams = _channels.Select(channel => new CallStream(channel, _headers, waitForReady: _channels.Length == 1, options.CallStreamRetryInterval, logger ?? NullLogger.Instance)).ToArray();
        }
    }

    public IReadOnlyList<GrpcChannel> Channels => _channels;

    public Grpc.Core.Metadata Headers => _headers;

    /// <summary>Each channel's call stream, in the order of <see cref="Channels"/>; empty when <see cref="AtProxyOptions.UseCallStream"/> is off.</summary>
    public IReadOnlyList<CallStream> Streams => _streams ?? [];

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
        // A coordinator that restarts is connected again within half a second of listening, not after
        // the default back-off of seconds; a refused connection to a local port costs next to nothing.
        InitialReconnectBackoff = TimeSpan.FromMilliseconds(50),
        MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
    });

    public async Task<BeginResponse> BeginAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var request = new BeginRequest
        {
            ApplicationId = _options.ApplicationId,
            Name = name,
            TimeoutMs = (uint)Math.Clamp(timeout.TotalMilliseconds, 1, uint.MaxValue),
        };
        return await CallAsync("begin a global transaction", () => new CallRequest { Begin = request }, answer => answer.Begin, (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).BeginAsync(request, call), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GlobalTransactionStatus> CommitAsync(string xid, CancellationToken cancellationToken)
    {
        var request = new CommitRequest { Xid = xid };
        var response = await CallAsync($"commit {xid}", () => new CallRequest { Commit = request }, answer => answer.Commit, (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).CommitAsync(request, call), cancellationToken, xid).ConfigureAwait(false);
        return (GlobalTransactionStatus)response.Status;
    }

    /// <param name="xid">The global transaction.</param>
    /// <param name="reason">Why (at most 1024 characters), recorded with the application as the actor.</param>
    /// <param name="cancellationToken">Stops the call.</param>
    public async Task<GlobalTransactionStatus> RollbackAsync(string xid, string reason, CancellationToken cancellationToken)
    {
        var request = new RollbackRequest { Xid = xid, Reason = reason };
        var response = await CallAsync($"roll back {xid}", () => new CallRequest { Rollback = request }, answer => answer.Rollback, (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).RollbackAsync(request, call), cancellationToken, xid).ConfigureAwait(false);
        return (GlobalTransactionStatus)response.Status;
    }

    /// <param name="xid">The global transaction.</param>
    /// <param name="cancellationToken">Stops the call.</param>
    /// <param name="budget">How long to keep trying when no coordinator answers (default: the call timeout).</param>
    public async Task<GlobalTransactionStatus> GetStatusAsync(string xid, CancellationToken cancellationToken, TimeSpan? budget = null)
    {
        var request = new GetStatusRequest { Xid = xid };
        var response = await CallAsync($"read the status of {xid}", () => new CallRequest { GetStatus = request }, answer => answer.GetStatus, (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).GetStatusAsync(request, call), cancellationToken, xid, budget).ConfigureAwait(false);
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
        var response = await CallAsync($"read the status of {xids.Count} global transaction(s)", () => new CallRequest { GetStatuses = request }, answer => answer.GetStatuses, (channel, call) =>
            new TransactionManager.TransactionManagerClient(channel).GetStatusesAsync(request, call), cancellationToken).ConfigureAwait(false);
        var statuses = new Dictionary<string, GlobalTransactionStatus>(StringComparer.Ordinal);
        foreach (var status in response.Statuses)
        {
            statuses[status.Xid] = (GlobalTransactionStatus)status.Status;
        }
        return statuses;
    }

    public Task<RegisterBranchResponse> RegisterBranchAsync(RegisterBranchRequest request, CancellationToken cancellationToken) =>
        CallAsync($"register a branch of {request.Xid}", () => new CallRequest { RegisterBranch = request }, answer => answer.RegisterBranch, (channel, call) =>
            new ResourceManager.ResourceManagerClient(channel).RegisterBranchAsync(request, call), cancellationToken, request.Xid);

    public Task<ReportBranchResponse> ReportBranchAsync(ReportBranchRequest request, CancellationToken cancellationToken) =>
        CallAsync($"report branch {request.BranchId} of {request.Xid}", () => new CallRequest { ReportBranch = request }, answer => answer.ReportBranch, (channel, call) =>
            new ResourceManager.ResourceManagerClient(channel).ReportBranchAsync(request, call), cancellationToken, request.Xid);

    public Task<CheckLocksResponse> CheckLocksAsync(CheckLocksRequest request, CancellationToken cancellationToken) =>
        CallAsync("check global locks", () => new CallRequest { CheckLocks = request }, answer => answer.CheckLocks, (channel, call) =>
            new ResourceManager.ResourceManagerClient(channel).CheckLocksAsync(request, call), cancellationToken, request.Xid);

    /// <summary>
    /// Sends a call to the preferred coordinator and, while none answers, keeps trying within
    /// <see cref="AtProxyOptions.CoordinatorCallTimeout"/>: a call waits for a coordinator that is
    /// restarting, goes to another one when several are configured, and is sent again when the
    /// connection broke under it. Every call the proxy makes is safe to send twice (see
    /// docs/DESIGN.md, "Calls that outlive a coordinator"). An answer from a coordinator, even an
    /// error, is final.
    /// </summary>
    /// <param name="what">The call, for messages ("commit {xid}").</param>
    /// <param name="streamed">The call as a request on the call stream (a new one per attempt).</param>
    /// <param name="answerOf">The response in the stream's answer; null when the answer is of another kind.</param>
    /// <param name="unary">The call as a unary call.</param>
    /// <param name="cancellationToken">Stops the call.</param>
    /// <param name="xid">The global transaction the call is about, for the errors.</param>
    /// <param name="budget">How long to keep trying (default: the call timeout).</param>
    private async Task<T> CallAsync<T>(string what, Func<CallRequest> streamed, Func<CallAnswer, T?> answerOf, Func<GrpcChannel, CallOptions, AsyncUnaryCall<T>> unary,
        CancellationToken cancellationToken, string? xid = null, TimeSpan? budget = null)
        where T : class
    {
        var timeout = budget ?? _options.CoordinatorCallTimeout;
        var deadline = DateTime.UtcNow + timeout;
        RpcException? lastFailure = null;
        for (var attempt = 0; DateTime.UtcNow < deadline; attempt++)
        {
            var index = Volatile.Read(ref _preferred) % _channels.Length;
            try
            {
                if (_channels.Length > 1 && !await CoordinatorSelection.ConnectsSoonAsync(_channels[index], deadline, cancellationToken).ConfigureAwait(false))
                {
                    // Another coordinator may be up while this one is not: try the next one.
                    Interlocked.CompareExchange(ref _preferred, (index + 1) % _channels.Length, index);
                    continue;
                }
                if (_streams?[index] is { CanCarry: true } stream)
                {
                    var answer = await stream.CallAsync(streamed(), deadline, cancellationToken).ConfigureAwait(false);
                    _metrics?.CoordinatorCalled("stream");
                    return Response(answer, answerOf);
                }
                // Waits for the connection (a coordinator restarting) within the deadline instead of failing at once.
                var options = new CallOptions(_headers, deadline, cancellationToken).WithWaitForReady(_channels.Length == 1);
                var response = await unary(_channels[index], options);
                _metrics?.CoordinatorCalled("unary");
                return response;
            }
            catch (CallStreamUnsupportedException)
            {
                // An older coordinator: the call was not run; it goes as a unary call on the next attempt.
            }
            catch (RpcException ex) when (CoordinatorSelection.IsTransportFailure(ex) && !cancellationToken.IsCancellationRequested && DateTime.UtcNow < deadline)
            {
                // The connection broke under the call (the coordinator died or is shutting down): send it again.
                lastFailure = ex;
                Interlocked.CompareExchange(ref _preferred, (index + 1) % _channels.Length, index);
                await CoordinatorSelection.PauseBeforeRetryAsync(attempt, deadline, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && !cancellationToken.IsCancellationRequested)
            {
                lastFailure = ex;
                break;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && DateTime.UtcNow >= deadline)
            {
                break; // no coordinator connected in time
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
            $"Could not {what}: no coordinator answered within {timeout.TotalSeconds:0.#} s ({string.Join(", ", _options.AllCoordinators())}). " +
            $"Check that the coordinator runs and AtProxyOptions.Coordinator points at it. {lastFailure?.Status.Detail}", lastFailure);
    }

    /// <summary>The response in a stream's answer; the coordinator's failure as the unary call would have thrown it.</summary>
    private static T Response<T>(CallAnswer answer, Func<CallAnswer, T?> answerOf)
        where T : class
    {
        if (answer.AnswerCase == CallAnswer.AnswerOneofCase.Failure)
        {
            throw new RpcException(new Status((StatusCode)answer.Failure.Code, answer.Failure.Detail));
        }
        return answerOf(answer) ?? throw new RpcException(new Status(StatusCode.Internal,
            $"The coordinator answered the call stream's request {answer.Id} with {answer.AnswerCase}, which does not answer it."));
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

    public async ValueTask DisposeAsync()
    {
        foreach (var stream in _streams ?? [])
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
