using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.AspNetCore.Tests;

/// <summary>Where a started test service listens (it binds port 0, so the server picks).</summary>
internal static class KestrelAddresses
{
    public static Uri[] Of(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal))).ToArray();
}
