using System.Globalization;
using AtProxy.Coordination;
using AtProxy.Coordinator;
using AtProxy.Hosting;
using AtProxy.Protocol.V1;
using BenchmarkDotNet.Attributes;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AtProxy.Benchmarks.Coordinator;

/// <summary>
/// Whole global transactions over loopback gRPC: begin, two branch registrations of 3 keys
/// each, commit (branches then committed by a resource manager on the real stream), with
/// <see cref="Concurrency"/> transactions in flight. The durable embedded store and the
/// in-memory store run in the same job so they can be compared, with the coordinator as it is
/// deployed (<see cref="Host"/> "process": its own process, its own runtime settings) and inside
/// the benchmark's process (one heap and one thread pool for client and server). One operation is one
/// global transaction, counted when its phase 2 is answered too: a measurement that left
/// the branch commits to run after the clock stopped would flatter both stores.
/// <see cref="Transport"/> "stream" sends the calls the way the proxy does (its
/// <see cref="CoordinatorClient"/>, every call over one call stream, batched); "unary" makes one
/// gRPC call each, the way a client without the stream (or an older coordinator) does.
/// </summary>
/// <remarks>
/// Every case first runs transactions for <see cref="WarmUp"/>. The job's own warm-up
/// iterations are too short for tiered compilation to finish on a small machine, and in one
/// process the case that ran first would otherwise pay for every later one.
/// </remarks>
[Config(typeof(CoordinatorBenchmarkConfig))]
public class GlobalTransactionBenchmarks
{
    private const int TransactionsPerInvoke = 2048;
    private const int BranchesPerTransaction = 2;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(10);
    private WebApplication? _app;
    private CoordinatorServer? _process;
    private GrpcChannel? _channel;
    private AcknowledgingResourceManager? _resourceManager;
    private CoordinatorClient? _client;
    private TransactionManager.TransactionManagerClient _tm = null!;
    private ResourceManager.ResourceManagerClient _rm = null!;
    private string _dataDirectory = "";
    private long _nextKey;
    private long _transactionsRun;

    [Params("memory", "embedded")]
    public string Store { get; set; } = "memory";

    [Params("process", "in-process")]
    public string Host { get; set; } = "process";

    [Params("stream", "unary")]
    public string Transport { get; set; } = "stream";

    [Params(64, 256)]
    public int Concurrency { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        Uri address;
        if (Host == "process")
        {
            var options = new CoordinatorServerOptions { Store = Store };
            options.Settings["Coordinator:EndedRetentionMs"] = "1000";
            options.Settings["Logging:LogLevel:Default"] = "Warning";
            _process = await CoordinatorServer.StartAsync(options);
            address = _process.Address;
        }
        else
        {
            _dataDirectory = Path.Combine(Path.GetTempPath(), $"atproxy-bench-{Guid.NewGuid().ToString("N")[..12]}");
            _app = CoordinatorApplication.Build(
                ["--urls", "http://127.0.0.1:0", "--store", Store, "--data-dir", _dataDirectory, "--Coordinator:EndedRetentionMs=1000"],
                builder => builder.Logging.ClearProviders());
            await CoordinatorApplication.StartAsync(_app);
            address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        }
        // The channel settings the proxy itself uses.
        _channel = CoordinatorClient.CreateChannel(address);
        _tm = new TransactionManager.TransactionManagerClient(_channel);
        _rm = new ResourceManager.ResourceManagerClient(_channel);
        if (Transport == "stream")
        {
            _client = new CoordinatorClient(new AtProxyOptions { Coordinator = address, ApplicationId = "bench", UseCallStream = true });
        }
        _resourceManager = await AcknowledgingResourceManager.ConnectAsync(_channel, "orders-db", "stock-db");

        var warmUpEnds = DateTime.UtcNow + WarmUp;
        while (DateTime.UtcNow < warmUpEnds)
        {
            await GlobalTransaction();
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_resourceManager is not null)
        {
            await _resourceManager.DisposeAsync();
        }
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
        _channel?.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        if (_dataDirectory.Length > 0 && Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Benchmark(OperationsPerInvoke = TransactionsPerInvoke, Description = "begin + 2 branches x 3 keys + commit")]
    public async Task GlobalTransaction()
    {
        var remaining = TransactionsPerInvoke;
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                await RunOneAsync();
            }
        }));
        _transactionsRun += TransactionsPerInvoke;
        await _resourceManager!.WaitUntilAnsweredAsync(_transactionsRun * BranchesPerTransaction);
    }

    private async Task RunOneAsync()
    {
        var xid = _client is null
            ? (await _tm.BeginAsync(new BeginRequest { ApplicationId = "bench", Name = "place-order", TimeoutMs = 60_000 })).Xid
            : (await _client.BeginAsync("place-order", TimeSpan.FromMinutes(1), CancellationToken.None)).Xid;
        await RegisterAsync(xid, "orders-db", "public.orders");
        await RegisterAsync(xid, "stock-db", "public.stock");
        var status = _client is null
            ? (await _tm.CommitAsync(new CommitRequest { Xid = xid })).Status
            : (GlobalStatus)await _client.CommitAsync(xid, CancellationToken.None);
        if (status is not (GlobalStatus.AsyncCommitting or GlobalStatus.Committed))
        {
            throw new InvalidOperationException($"Commit of {xid} answered {status}.");
        }
    }

    private async Task RegisterAsync(string xid, string resourceId, string table)
    {
        var request = new RegisterBranchRequest { Xid = xid, ResourceId = resourceId, ApplicationId = "bench" };
        for (var i = 0; i < 3; i++)
        {
            request.LockKeys.Add(new LockKey { Table = table, PrimaryKey = Interlocked.Increment(ref _nextKey).ToString(CultureInfo.InvariantCulture) });
        }
        var response = _client is null
            ? await _rm.RegisterBranchAsync(request)
            : await _client.RegisterBranchAsync(request, CancellationToken.None);
        if (response.Conflict is not null)
        {
            throw new InvalidOperationException($"Unexpected lock conflict for {xid}.");
        }
    }
}
