using System.Globalization;
using AtProxy.Coordinator;
using AtProxy.Coordinator.Storage;
using AtProxy.Protocol.V1;
using AtProxy.Testing.Postgres;
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
/// free loopback port, driven over real gRPC. Restartable on the same data directory (or, for
/// the postgres store, the same database: one of its own on the shared real server unless a
/// connection string is given, so several coordinators can share one).
/// </summary>
public sealed class InProcessCoordinator : IAsyncDisposable
{
    private readonly Dictionary<string, string> _settings;
    private readonly bool _ownsDataDirectory;
    private readonly TestDatabase? _ownedDatabase;
    private readonly Action<IServiceCollection>? _services;
    private WebApplication? _app;
    private GrpcChannel? _channel;

    private InProcessCoordinator(string store, string dataDirectory, bool ownsDataDirectory, Dictionary<string, string> settings, string? storeConnection,
        TestDatabase? ownedDatabase, Action<IServiceCollection>? services)
    {
        _services = services;
        Store = store;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        _settings = settings;
        StoreConnection = storeConnection;
        _ownedDatabase = ownedDatabase;
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

    /// <summary>The postgres store's connection string (null for the other stores).</summary>
    public string? StoreConnection { get; }

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

    /// <summary>
    /// Settings whose retries wait a minute: within a test, only what the test does (a subscription,
    /// a person's retry) makes a failed phase 2 go on.
    /// </summary>
    public static void RetryAfterAMinute(Dictionary<string, string> settings)
    {
        settings["Coordinator:RetryInitialDelayMs"] = "60000";
        settings["Coordinator:RetryMaxDelayMs"] = "60000";
    }

    /// <summary>
    /// Starts a coordinator on <paramref name="store"/>. For "postgres", <paramref name="storeConnection"/>
    /// names the database to share; without it the coordinator gets a new database, dropped on dispose.
    /// <paramref name="services"/> adds to the coordinator's services on every start (e.g. an alert observer).
    /// </summary>
    public static async Task<InProcessCoordinator> StartAsync(string store = "memory", Action<Dictionary<string, string>>? configure = null,
        string? dataDirectory = null, string? storeConnection = null, Action<IServiceCollection>? services = null)
    {
        var settings = TestSettings();
        configure?.Invoke(settings);
        var owns = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), $"atproxy-tc-test-{Guid.NewGuid().ToString("N")[..12]}");
        TestDatabase? database = null;
        if (store == "postgres" && storeConnection is null)
        {
            database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("tc");
            storeConnection = database.ConnectionString;
        }
        var coordinator = new InProcessCoordinator(store, dataDirectory, owns, settings, storeConnection, database, services);
        try
        {
            await coordinator.StartCoreAsync();
        }
        catch
        {
            await coordinator.DisposeAsync();
            throw;
        }
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
        if (StoreConnection is not null)
        {
            args.AddRange(["--store-connection", StoreConnection]);
        }
        args.AddRange(_settings.Select(s => string.Create(CultureInfo.InvariantCulture, $"--{s.Key}={s.Value}")));
        _app = CoordinatorApplication.Build([.. args], builder =>
        {
            builder.Logging.ClearProviders();
            _services?.Invoke(builder.Services);
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
        if (_ownedDatabase is not null)
        {
            await _ownedDatabase.DisposeAsync();
        }
    }
}
