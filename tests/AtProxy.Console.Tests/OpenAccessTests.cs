using System.Net;
using AtProxy.Hosting;
using AtProxy.Testing.Coordinator;

namespace AtProxy.Console.Tests;

/// <summary>A coordinator without an admin token serves the console on loopback only, and says so on every page.</summary>
public class OpenAccessTests
{
    [Fact]
    public async Task Without_an_admin_token_every_page_says_that_anyone_on_this_machine_can_intervene()
    {
        var port = FreePort.Find();
        var options = new CoordinatorProcessOptions { Store = "memory" };
        options.Settings["Coordinator:AdminUrls"] = $"http://127.0.0.1:{port}";
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        foreach (var path in new[] { "/", "/transactions", "/locks", "/interventions", "/alerts" })
        {
            using var page = await client.GetAsync(path);
            Assert.True(page.StatusCode == HttpStatusCode.OK, $"{path}: {page.StatusCode}");
            Assert.Contains("anyone on this machine can intervene", await page.Content.ReadAsStringAsync());
        }
        using (var metrics = await client.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        }
        Assert.Contains($"Admin endpoint (console, /metrics, /healthz) on http://127.0.0.1:{port}: open on loopback, anyone on this machine can intervene", coordinator.Output);
    }
}
