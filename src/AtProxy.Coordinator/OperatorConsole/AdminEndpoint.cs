using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// The coordinator's HTTP/1.1 admin endpoint (<c>Coordinator:AdminUrls</c>): the operator console,
/// <c>/metrics</c> (Prometheus text) and <c>/healthz</c>. It listens on ports of its own next to the
/// gRPC ports; <see cref="AdminPortFilter"/> keeps each kind of request on its own ports.
/// Everything but <c>/healthz</c> needs the admin token (<see cref="AdminCredential"/>) when one is
/// set: the console through a sign-in cookie, scrapers and scripts as <c>Authorization: Bearer</c>.
/// </summary>
internal static class AdminEndpoint
{
    public const string HealthPath = "/healthz";
    public const string MetricsPath = "/metrics";

    /// <summary>Adds the endpoint's services and addresses; nothing when <c>Coordinator:AdminUrls</c> is empty.</summary>
    /// <exception cref="CoordinatorSettingsException">An admin URL shares its port with a gRPC URL, or Kestrel:Endpoints are configured.</exception>
    public static void Add(WebApplicationBuilder builder)
    {
        var adminUrls = AdminUrlList.Parse(builder.Configuration[$"{CoordinatorOptions.SectionName}:{nameof(CoordinatorOptions.AdminUrls)}"]);
        if (adminUrls.Urls.Count == 0)
        {
            return; // malformed URLs are reported by the options validator, with the other settings
        }
        // Kestrel ignores the URL list (ours included) once endpoints are configured: the admin endpoint would silently not listen.
        if (builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            throw new CoordinatorSettingsException([
                "Coordinator:AdminUrls (--admin-urls) cannot be combined with Kestrel:Endpoints, which make Kestrel ignore every URL list; " +
                "give the gRPC endpoint with --urls (and its certificate with Kestrel:Certificates:Default), or drop Coordinator:AdminUrls."]);
        }
        var grpcUrls = builder.Configuration[WebHostDefaults.ServerUrlsKey] ?? "http://localhost:5000";
        var shared = grpcUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => Uri.TryCreate(u.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var url) ? url.Port : -1)
            .Where(adminUrls.Ports.Contains)
            .ToList();
        if (shared.Count > 0)
        {
            throw new CoordinatorSettingsException([$"Coordinator:AdminUrls (--admin-urls) uses port {shared[0]}, which the gRPC endpoint (--urls {grpcUrls}) uses too; give the admin endpoint a port of its own."]);
        }
        // Kestrel serves the gRPC URLs and the admin URLs; each endpoint's protocol follows its port.
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, $"{grpcUrls};{string.Join(';', adminUrls.Urls.Select(u => u.GetLeftPart(UriPartial.Authority)))}");
        var adminPorts = adminUrls.Ports;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
            listen.Protocols = listen.IPEndPoint is { } endpoint && adminPorts.Contains(endpoint.Port) ? HttpProtocols.Http1 : HttpProtocols.Http2));

        var services = builder.Services;
        services.AddSingleton(new AdminPorts(adminPorts));
        services.AddRazorPages(pages =>
        {
            pages.RootDirectory = "/OperatorConsole/Pages";
            pages.Conventions.AuthorizeFolder("/", ConsoleAuthentication.OperatorPolicy);
            pages.Conventions.AllowAnonymousToPage("/SignIn");
        });
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "atproxy-console-antiforgery";
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.HttpOnly = true;
            antiforgery.FormFieldName = "__console_token";
        });
        // Sign-ins last as long as the process: a restart (or a changed token) signs everyone out,
        // and the coordinator writes no key ring anywhere (so there is nothing to encrypt at rest).
        services.AddDataProtection().SetApplicationName("atproxy-coordinator");
        services.Configure<KeyManagementOptions>(keys =>
        {
            keys.XmlRepository = new InMemoryKeyRepository();
            keys.XmlEncryptor = new NullXmlEncryptor();
        });
        ConsoleAuthentication.Add(services);
        // /healthz reports the checks the gRPC health service reports (the store's).
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("atproxy-coordinator", serviceInstanceId:
                builder.Configuration[$"{CoordinatorOptions.SectionName}:{nameof(CoordinatorOptions.NodeId)}"] ?? new CoordinatorOptions().NodeId))
            .WithMetrics(metrics => metrics
            .AddMeter(CoordinatorMetrics.MeterName)
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
    }

    /// <summary>Maps the endpoint's pages and paths; nothing when <see cref="Add"/> added nothing.</summary>
    public static void Map(WebApplication app)
    {
        if (app.Services.GetService<AdminPorts>() is null)
        {
            return;
        }
        app.UseMiddleware<AdminPortFilter>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapRazorPages().WithMetadata(AdminPorts.Marker);
        app.MapGet(ConsoleStylesheet.Path, ConsoleStylesheet.Serve).WithMetadata(AdminPorts.Marker).AllowAnonymous();
        app.MapHealthChecks(HealthPath, new HealthCheckOptions
        {
            ResponseWriter = (context, report) => context.Response.WriteAsync(
                $"{report.Status}: {string.Join(" ", report.Entries.Values.Select(e => e.Description))}\n"),
            ResultStatusCodes = { [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable },
        }).WithMetadata(AdminPorts.Marker).AllowAnonymous();
        app.MapPrometheusScrapingEndpoint(MetricsPath).WithMetadata(AdminPorts.Marker).RequireAuthorization(ConsoleAuthentication.OperatorPolicy);
    }
}
