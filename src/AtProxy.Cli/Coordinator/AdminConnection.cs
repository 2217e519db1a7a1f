using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace AtProxy.Cli.Coordinator;

/// <summary>
/// The admin API of one coordinator: adds the bearer token and the operator's name to every call,
/// bounds each call in time, and turns gRPC failures into <see cref="CliFailure"/>s with exit codes.
/// </summary>
internal sealed class AdminConnection : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);
    private const string OperatorHeader = "atproxy-operator";

    private readonly GrpcChannel _channel;
    private readonly Admin.AdminClient _admin;
    private readonly Metadata _headers = [];

    public AdminConnection(Uri address, string? adminToken, string operatorName)
    {
        Address = address;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        _admin = new Admin.AdminClient(_channel);
        if (adminToken is not null)
        {
            _headers.Add("authorization", $"Bearer {adminToken}");
        }
        // Only printable ASCII survives in a header; the coordinator records it as the actor.
        var printable = new string(operatorName.Where(c => c is > ' ' and <= '~').ToArray());
        _headers.Add(OperatorHeader, printable.Length > 0 ? printable : "operator");
    }

    public Uri Address { get; }

    public Task<ListLocksResponse> ListLocksAsync(ListLocksRequest request, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.ListLocksAsync(request, options), cancellationToken);

    public Task<ListTransactionsResponse> ListTransactionsAsync(ListTransactionsRequest request, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.ListTransactionsAsync(request, options), cancellationToken);

    public Task<GetTransactionResponse> GetTransactionAsync(string xid, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.GetTransactionAsync(new GetTransactionRequest { Xid = xid }, options), cancellationToken);

    public Task<InterveneResponse> RetryAsync(InterveneRequest request, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.RetryAsync(request, options), cancellationToken);

    public Task<InterveneResponse> ForceRollbackAsync(InterveneRequest request, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.ForceRollbackAsync(request, options), cancellationToken);

    public Task<InterveneResponse> ForceCommitAsync(InterveneRequest request, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.ForceCommitAsync(request, options), cancellationToken);

    public Task<ListAlertsResponse> ListAlertsAsync(CancellationToken cancellationToken) =>
        CallAsync(options => _admin.ListAlertsAsync(new ListAlertsRequest(), options), cancellationToken);

    public Task<ListInterventionsResponse> ListInterventionsAsync(ListInterventionsRequest request, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.ListInterventionsAsync(request, options), cancellationToken);

    public Task<InterveneResponse> ForgetBranchAsync(ForgetBranchRequest request, CancellationToken cancellationToken) =>
        CallAsync(options => _admin.ForgetBranchAsync(request, options), cancellationToken);

    /// <summary>
    /// One branch's undo images, read by its resource manager. UNAVAILABLE and DEADLINE_EXCEEDED that the
    /// coordinator answers (no transport failure under them) concern the resource manager: the message says which.
    /// </summary>
    public async Task<GetBranchUndoResponse> GetBranchUndoAsync(GetBranchUndoRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await _admin.GetBranchUndoAsync(request, new CallOptions(_headers, DateTime.UtcNow + CallTimeout, cancellationToken));
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && ex.InnerException is null)
        {
            throw CliFailure.Unreachable($"The coordinator at {Address} could not get the undo images of branch {request.BranchId} of '{request.Xid}': {ex.Status.Detail}", ex);
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            throw AdminErrors.From(ex, Address);
        }
    }

    /// <summary>The status of many transactions (the transaction manager's call, which the admin token may make).</summary>
    public Task<GetStatusesResponse> GetStatusesAsync(IEnumerable<string> xids, CancellationToken cancellationToken)
    {
        var request = new GetStatusesRequest();
        request.Xids.AddRange(xids);
        return CallAsync(options => new TransactionManager.TransactionManagerClient(_channel).GetStatusesAsync(request, options), cancellationToken);
    }

    public Task<GetCoordinatorStatusResponse> GetStatusAsync(CancellationToken cancellationToken) =>
        CallAsync(options => _admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest(), options), cancellationToken);

    /// <summary>The standard gRPC health check (open without a token): SERVING when the store is healthy.</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var health = new Health.HealthClient(_channel);
        var reply = await CallAsync(options => health.CheckAsync(new HealthCheckRequest(), options), cancellationToken);
        return reply.Status;
    }

    public void Dispose() => _channel.Dispose();

    private async Task<T> CallAsync<T>(Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(new CallOptions(_headers, DateTime.UtcNow + CallTimeout, cancellationToken));
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            throw AdminErrors.From(ex, Address);
        }
    }
}
