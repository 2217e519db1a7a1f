using System.Globalization;
using AtProxy.Coordinator;
using AtProxy.Coordinator.Storage;
using AtProxy.Protocol.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// The real coordinator (Kestrel, gRPC, the chosen store) started inside the test process on a
/// free loopback port, driven over real gRPC. Restartable on the same data directory.
/// </summary>
public sealed class InProcessCoordinator : IAsyncDisposable
{
    private readonly Dictionary<string, string> _settings;
    private readonly bool _ownsDataDirectory;
    private WebApplication? _app;
    private GrpcChannel? _channel;

    private InProcessCoordinator(string store, string dataDirectory, bool ownsDataDirectory, Dictionary<string, string> settings)
    {
        Store = store;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        _settings = settings;
    }

    /// <summary>Settings fast enough for tests: short sweeps, short back-off, short command timeout.</summary>
    public static Dictionary<string, string> TestSettings() => new(StringComparer.Ordinal)
    {
        ["Coordinator:SweepIntervalMs"] = "25",
        ["Coordinator:RetryInitialDelayMs"] = "50",
        ["Coordinator:RetryMaxDelayMs"] = "400",
        ["Coordinator:BranchCommandTimeoutMs"] = "3000",
        ["Coordinator:EndedRetentionMs"] = "600000",
    };

    public string Store { get; }

    public string DataDirectory { get; }

    public Uri Address { get; private set; } = null!;

    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("Not started.");

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    internal ICoordinatorStore StoreInstance => Services.GetRequiredService<ICoordinatorStore>();

    public TransactionManager.TransactionManagerClient Tm => new(Channel);

    public ResourceManager.ResourceManagerClient Rm => new(Channel);

    public Protocol.V1.Admin.AdminClient Admin => new(Channel);

    /// <summary>Clients that send <paramref name="token"/> as a bearer token.</summary>
    public CallInvoker WithToken(string token) =>
        Channel.Intercept(metadata =>
        {
            metadata.Add("authorization", $"Bearer {token}");
            return metadata;
        });

    public static async Task<InProcessCoordinator> StartAsync(string store = "memory", Action<Dictionary<string, string>>? configure = null, string? dataDirectory = null)
    {
        var settings = TestSettings();
        configure?.Invoke(settings);
        var owns = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), $"atproxy-tc-test-{Guid.NewGuid().ToString("N")[..12]}");
        var coordinator = new InProcessCoordinator(store, dataDirectory, owns, settings);
        await coordinator.StartCoreAsync();
        return coordinator;
    }

    /// <summary>Stops gracefully and starts again on the same data directory (a new port).</summary>
    public async Task RestartAsync()
    {
        await StopCoreAsync();
        await StartCoreAsync();
    }

    private async Task StartCoreAsync()
    {
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--store", Store, "--data-dir", DataDirectory };
        args.AddRange(_settings.Select(s => string.Create(CultureInfo.InvariantCulture, $"--{s.Key}={s.Value}")));
        _app = CoordinatorApplication.Build([.. args], builder =>
        {
            builder.Logging.ClearProviders();
        });
        await CoordinatorApplication.StartAsync(_app);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Address = new Uri(address);
        _channel = GrpcChannel.ForAddress(Address);
    }

    private async Task StopCoreAsync()
    {
        _channel?.Dispose();
        _channel = null;
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopCoreAsync();
        if (_ownsDataDirectory && Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}
