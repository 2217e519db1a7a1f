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
        services.TryAddSingleton(sp => AtProxyClient.Create(sp.GetRequiredService<IOptions<AtProxyOptions>>().Value, sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton<AtProxyDataSourceRegistry>();
        services.TryAddTransient<AtProxyXidHandler>();
        services.TryAddSingleton<AtProxyGrpcClientInterceptor>();
        services.TryAddSingleton<AtProxyGrpcServerInterceptor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, AtProxyResourceStartup>());
        return services;
    }

    /// <summary>
    /// Registers a database as an AtProxy resource: an <see cref="AtDbDataSource"/> keyed by
    /// <paramref name="resourceId"/> (and unkeyed, for the first one registered) wrapping the data source
    /// <paramref name="create"/> builds. Its phase-2 stream opens when the host starts, so branches left
    /// by a previous run are finished even before the first request.
    /// </summary>
    public static IServiceCollection AddAtProxyDataSource(this IServiceCollection services, string resourceId, Func<IServiceProvider, DbDataSource> create)
    {
        ArgumentException.ThrowIfNullOrEmpty(resourceId);
        ArgumentNullException.ThrowIfNull(create);
        services.AddKeyedSingleton(resourceId, (sp, _) => sp.GetRequiredService<AtProxyClient>().Wrap(create(sp), resourceId));
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<AtDbDataSource>(resourceId));
        services.AddSingleton(new AtProxyResourceRegistration(resourceId));
        return services;
    }

    /// <summary>Sends the ambient XID from this <see cref="HttpClient"/> in the <c>atproxy-xid</c> header.</summary>
    public static IHttpClientBuilder AddAtProxyXidPropagation(this IHttpClientBuilder builder) =>
        builder.AddHttpMessageHandler<AtProxyXidHandler>();

    /// <summary>Sends the ambient XID from this gRPC client in <c>atproxy-xid</c> metadata.</summary>
    public static IHttpClientBuilder AddAtProxyGrpcXidPropagation(this IHttpClientBuilder builder) =>
        builder.AddInterceptor<AtProxyGrpcClientInterceptor>();

    /// <summary>Joins the caller's global transaction from the <c>atproxy-xid</c> request header.</summary>
    public static IApplicationBuilder UseAtProxy(this IApplicationBuilder app) => app.UseMiddleware<AtProxyXidMiddleware>();
}

/// <summary>A resource id registered with <see cref="AtProxyServiceCollectionExtensions.AddAtProxyDataSource"/>.</summary>
internal sealed record AtProxyResourceRegistration(string ResourceId);

/// <summary>The resource ids of the host's wrapped data sources.</summary>
internal sealed class AtProxyDataSourceRegistry(IEnumerable<AtProxyResourceRegistration> registrations)
{
    public IReadOnlyList<string> ResourceIds { get; } = registrations.Select(r => r.ResourceId).Distinct().ToArray();
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
