using AtProxy.Coordinator.Admin;
using AtProxy.Coordinator.Alerts;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Coordination;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.OperatorConsole;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Security;
using AtProxy.Coordinator.Services;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Embedded;
using AtProxy.Coordinator.Storage.Postgres;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator;

/// <summary>
/// Builds and runs the coordinator server: settings, services, gRPC endpoints, store recovery.
/// <c>Program</c> calls <see cref="RunAsync"/>; tests may build and start it in-process.
/// </summary>
public static class CoordinatorApplication
{
    /// <summary>The largest request accepted: a branch may carry 100,000 keys of up to 1,280 characters.</summary>
    public const int MaxReceiveMessageBytes = 192 * 1024 * 1024;

    /// <summary>Short command-line switches and the settings they set.</summary>
    public static IReadOnlyDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--data-dir"] = "Coordinator:DataDir",
        ["--store"] = "Coordinator:Store",
        ["--store-connection"] = "Coordinator:StoreConnection",
        ["--node-id"] = "Coordinator:NodeId",
        ["--parent-pid"] = "Coordinator:ParentProcessId",
        ["--admin-urls"] = "Coordinator:AdminUrls",
    };

    /// <summary>
    /// Builds the server from command-line arguments (<c>--urls</c>, <c>--data-dir</c>, <c>--store</c>,
    /// any <c>--Coordinator:Setting=value</c> or <c>--Coordinator:Setting value</c>), appsettings.json and
    /// <c>ATPROXY_</c> environment variables. Unknown arguments and settings and malformed values are refused.
    /// </summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="configure">Changes applied last, before the server is built (tests use it for settings and logging).</param>
    /// <exception cref="CoordinatorSettingsException">An argument or a <c>Coordinator</c> setting is unknown or malformed.</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (CommandLineArguments.Problems(args, SwitchMappings) is { Count: > 0 } argumentProblems)
        {
            throw new CoordinatorSettingsException(argumentProblems);
        }
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        // Later sources win: appsettings.json < ATPROXY_* environment < command line.
        builder.Configuration.AddEnvironmentVariables("ATPROXY_");
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string>(SwitchMappings));

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // gRPC without TLS is HTTP/2 with prior knowledge (h2c); an endpoint configured with TLS may override this.
            kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            // A resource manager whose host vanished must be noticed, so its commands go to another instance.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            kestrel.Limits.MaxRequestBodySize = MaxReceiveMessageBytes;
        });

        var services = builder.Services;
        services.AddOptions<CoordinatorOptions>().Bind(builder.Configuration.GetSection(CoordinatorOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CoordinatorOptions>, CoordinatorOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ICoordinatorStore>(CreateStore);
        services.AddSingleton<CoordinatorMetrics>();
        services.AddSingleton<CoordinatorGauges>();
        services.AddSingleton<CoordinatorIdentity>();
        services.AddSingleton<ResourceManagerHub>();
        services.AddSingleton<SessionChanges>();
        services.AddSingleton<ActiveAlerts>();
        services.AddSingleton<AlertWebhook>();
        services.AddHttpClient(AlertWebhook.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan); // each attempt has its own timeout
        services.AddSingleton<AlertDispatcher>();
        services.AddHostedService(provider => provider.GetRequiredService<AlertDispatcher>());
        services.AddSingleton<CoordinatorAlerts>();
        services.AddSingleton<IAlertLeadership>(CreateAlertLeadership);
        services.AddHostedService<AlertMonitor>();
        services.AddSingleton<BranchFailureCounts>();
        services.AddSingleton<PhaseTwoDriver>();
        services.AddSingleton<PhaseTwoWaits>();
        services.AddSingleton<TransactionCoordinator>();
        services.AddSingleton<AdminOperations>();
        services.AddSingleton<CoordinatorBackgroundService>();
        services.AddHostedService(provider => provider.GetRequiredService<CoordinatorBackgroundService>());
        services.AddHostedService<ParentProcessWatcher>();
        services.AddSingleton<AdminTokenThrottle>();
        services.AddSingleton<BearerTokenInterceptor>();
        services.AddSingleton<StoreErrorInterceptor>();
        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = MaxReceiveMessageBytes;
            grpc.Interceptors.Add<BearerTokenInterceptor>();
            grpc.Interceptors.Add<StoreErrorInterceptor>();
        });
        services.AddGrpcHealthChecks().AddCheck<StoreHealthCheck>("store");

        configure?.Invoke(builder);
        AdminEndpoint.Add(builder);
        // A setting that is misspelt or meant for another version would otherwise be ignored in silence.
        if (CoordinatorSettingsCheck.Problems(builder.Configuration) is { Count: > 0 } settingProblems)
        {
            throw new CoordinatorSettingsException(settingProblems);
        }

        var app = builder.Build();
        app.MapGrpcService<TransactionManagerService>();
        app.MapGrpcService<ResourceManagerService>();
        app.MapGrpcService<CallsService>();
        app.MapGrpcService<AdminService>();
        app.MapGrpcHealthChecksService();
        AdminEndpoint.Map(app);
        return app;
    }

    /// <summary>Checks the settings, recovers the store, then starts serving.</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<CoordinatorOptions>>().Value;
        var store = app.Services.GetRequiredService<ICoordinatorStore>();
        await store.OpenAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CoordinatorApplication));
        Log.Serving(logger, options.NodeId, string.Join(", ", addresses), store.Kind);
        if (store is EmbeddedCoordinatorStore embedded)
        {
            Log.DataDirectory(logger, embedded.DataDirectory);
        }
        Log.CallProtection(logger, CallProtection.Application(options), CallProtection.Admin(options));
        if (!string.IsNullOrWhiteSpace(options.AdminUrls))
        {
            Log.AdminEndpoint(logger, options.AdminUrls, CallProtection.AdminEndpoint(options));
        }
    }

    /// <summary>Runs the coordinator until it is stopped; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        WebApplication app;
        try
        {
            app = Build(args);
            await StartAsync(app);
        }
        catch (Exception ex) when (ex is CoordinatorSettingsException or OptionsValidationException or InvalidOperationException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            foreach (var problem in Describe(ex))
            {
                await Console.Error.WriteLineAsync($"The coordinator cannot start: {problem}");
            }
            return 2;
        }
        await using (app)
        {
            await app.WaitForShutdownAsync();
        }
        return 0;
    }

    /// <summary>One line per problem, each naming the setting.</summary>
    private static IEnumerable<string> Describe(Exception ex) => ex switch
    {
        CoordinatorSettingsException settings => settings.Problems,
        OptionsValidationException validation => validation.Failures,
        _ when ex.InnerException is not null && ex.Message.StartsWith("Failed to convert", StringComparison.Ordinal) => [$"{ex.Message} ({ex.InnerException.Message})"],
        _ => [ex.Message],
    };

    private static IAlertLeadership CreateAlertLeadership(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<CoordinatorOptions>>().Value;
        return options.Store == StoreKind.Postgres
            ? new PostgresAlertLeadership(options.StoreConnection!, options.StoreSchema, provider.GetRequiredService<ILogger<PostgresAlertLeadership>>())
            : new SoleCoordinatorAlertLeadership();
    }

    private static ICoordinatorStore CreateStore(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<CoordinatorOptions>>().Value;
        return options.Store switch
        {
            StoreKind.Memory => new InMemoryCoordinatorStore { Metrics = provider.GetRequiredService<CoordinatorMetrics>() },
            StoreKind.Postgres => new PostgresCoordinatorStore(options.StoreConnection!, options.StoreSchema,
                $"{options.NodeId}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}", options.LeaseMs, options.StoreLockAudit,
                provider.GetRequiredService<ILogger<PostgresCoordinatorStore>>())
            {
                Metrics = provider.GetRequiredService<CoordinatorMetrics>(),
            },
            _ => new EmbeddedCoordinatorStore(CoordinatorDataDirectory.Resolve(options), options.CompactionThresholdBytes, provider.GetRequiredService<ILogger<EmbeddedCoordinatorStore>>())
            {
                Metrics = provider.GetRequiredService<CoordinatorMetrics>(),
            },
        };
    }
}
