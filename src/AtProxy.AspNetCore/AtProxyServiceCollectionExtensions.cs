using System.Diagnostics.Metrics;
using System.Data.Common;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.AspNetCore;

/// <summary>Registers AtProxy in an ASP.NET Core (or generic host) application.</summary>
public static class AtProxyServiceCollectionExtensions
{
    /// <summary>The configuration section <c>AddAtProxy(configuration)</c> binds.</summary>
    public const string ConfigurationSection = "AtProxy";

    /// <summary>
    /// Adds the <see cref="AtProxyClient"/> (one per process) with <see cref="AtProxyOptions"/> bound
    /// from the <c>AtProxy</c> section, validated at start, and the XID propagation pieces.
    /// </summary>
    public static IServiceCollection AddAtProxy(this IServiceCollection services, IConfiguration configuration, Action<AtProxyOptions>? configure = null)
    {
        var options = services.AddOptions<AtProxyOptions>().Bind(configuration.GetSection(ConfigurationSection));
        if (configure is not null)
        {
            options.Configure(configure);
        }
        return services.AddAtProxyCore();
    }

    /// <summary>Adds the <see cref="AtProxyClient"/> configured in code.</summary>
    public static IServiceCollection AddAtProxy(this IServiceCollection services, Action<AtProxyOptions> configure)
    {
        services.AddOptions<AtProxyOptions>().Configure(configure);
        return services.AddAtProxyCore();
    }

    private static IServiceCollection AddAtProxyCore(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AtProxyOptions>, AtProxyOptionsValidator>());
        services.AddOptions<AtProxyOptions>().ValidateOnStart();
        services.TryAddSingleton(sp => AtProxyClient.Create(sp.GetRequiredService<IOptions<AtProxyOptions>>().Value, sp.GetService<ILoggerFactory>(), sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<AtProxyDataSourceRegistry>();
        services.TryAddTransient<AtProxyXidHandler>();
        services.TryAddSingleton<AtProxyGrpcClientInterceptor>();
        services.TryAddSingleton<AtProxyGrpcServerInterceptor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, AtProxyResourceStartup>());
        return services;
    }

    /// <summary>
    /// Registers a database as an AtProxy resource: an <see cref="AtDbDataSource"/> keyed by
    /// <paramref name="resourceId"/> wrapping the data source <paramref name="create"/> builds; inject it
    /// with <c>[FromKeyedServices("orders-db")] AtDbDataSource</c>. While it is the only one registered,
    /// it is also injected unkeyed; with several, an unkeyed <see cref="AtDbDataSource"/> fails to
    /// resolve, naming the keys, rather than quietly handing out one of them. Its phase-2 stream opens
    /// when the host starts, so branches left by a previous run are finished even before the first request.
    /// </summary>
    public static IServiceCollection AddAtProxyDataSource(this IServiceCollection services, string resourceId, Func<IServiceProvider, DbDataSource> create)
    {
        ArgumentException.ThrowIfNullOrEmpty(resourceId);
        ArgumentNullException.ThrowIfNull(create);
        if (services.Any(d => d.ImplementationInstance is AtProxyResourceRegistration r && r.ResourceId == resourceId))
        {
            throw new ArgumentException($"An AtProxy data source is already registered for resource id '{resourceId}'; each database is registered once.", nameof(resourceId));
        }
        services.AddKeyedSingleton(resourceId, (sp, _) => sp.GetRequiredService<AtProxyClient>().Wrap(create(sp), resourceId));
        services.TryAddSingleton(sp => sp.GetRequiredService<AtProxyDataSourceRegistry>().TheOnlyDataSource(sp));
        services.AddSingleton(new AtProxyResourceRegistration(resourceId));
        return services;
    }

    /// <summary>Sends the ambient XID from this <see cref="HttpClient"/> in the <c>atproxy-xid</c> header.</summary>
    public static IHttpClientBuilder AddAtProxyXidPropagation(this IHttpClientBuilder builder) =>
        builder.AddHttpMessageHandler<AtProxyXidHandler>();

    /// <summary>Sends the ambient XID from this gRPC client in <c>atproxy-xid</c> metadata.</summary>
    public static IHttpClientBuilder AddAtProxyGrpcXidPropagation(this IHttpClientBuilder builder) =>
        builder.AddInterceptor<AtProxyGrpcClientInterceptor>();

    /// <summary>
    /// Joins the caller's global transaction from the <c>atproxy-xid</c> request header, then runs
    /// endpoints that declare a global transaction (<see cref="GlobalTransactionalAttribute"/>,
    /// <see cref="GlobalTransactionEndpointExtensions.WithGlobalTransaction{TBuilder}"/>) in one. Call it after
    /// routing: a declared endpoint reached without it fails instead of running outside its transaction.
    /// </summary>
    public static IApplicationBuilder UseAtProxy(this IApplicationBuilder app) =>
        app.UseMiddleware<AtProxyXidMiddleware>().UseMiddleware<GlobalTransactionMiddleware>();
}

/// <summary>A resource id registered with <see cref="AtProxyServiceCollectionExtensions.AddAtProxyDataSource"/>.</summary>
internal sealed record AtProxyResourceRegistration(string ResourceId);

/// <summary>The resource ids of the host's wrapped data sources.</summary>
internal sealed class AtProxyDataSourceRegistry(IEnumerable<AtProxyResourceRegistration> registrations)
{
    public IReadOnlyList<string> ResourceIds { get; } = registrations.Select(r => r.ResourceId).Distinct().ToArray();

    /// <summary>The unkeyed <see cref="AtDbDataSource"/>: there is one only while one database is registered.</summary>
    public AtDbDataSource TheOnlyDataSource(IServiceProvider services) => ResourceIds.Count == 1
        ? services.GetRequiredKeyedService<AtDbDataSource>(ResourceIds[0])
        : throw new InvalidOperationException(
            $"{ResourceIds.Count} AtProxy data sources are registered ({string.Join(", ", ResourceIds.Select(id => $"'{id}'"))}), so an unkeyed AtDbDataSource " +
            $"would be a guess: inject the one meant with [FromKeyedServices(\"{ResourceIds[0]}\")] AtDbDataSource " +
            "(or GetRequiredKeyedService<AtDbDataSource>(resourceId)).");
}

/// <summary>Creates every wrapped data source at start, so each resource's phase-2 stream is open.</summary>
internal sealed class AtProxyResourceStartup(IServiceProvider services, AtProxyDataSourceRegistry registry) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var id in registry.ResourceIds)
        {
            services.GetRequiredKeyedService<AtDbDataSource>(id);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Turns <see cref="AtProxyOptions"/> mistakes into a clear start-up failure.</summary>
internal sealed class AtProxyOptionsValidator : IValidateOptions<AtProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, AtProxyOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
