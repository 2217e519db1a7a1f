using System.Net;
using System.Net.Http.Headers;
using AtProxy.Console.Tests.Support;
using Dapper;

namespace AtProxy.Console.Tests;

/// <summary>/metrics speaks Prometheus' text format, needs the bearer token, and agrees with the admin API.</summary>
[Collection(ConsoleCollection.Name)]
public class MetricsTests(ConsoleEnvironment env)
{
    [Fact]
    public async Task Metrics_scraped_with_the_bearer_token_count_a_known_concurrent_workload_as_the_admin_api_does()
    {
        using var scraper = new HttpClient { BaseAddress = env.ConsoleAddress };
        scraper.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ConsoleEnvironment.AdminTokenValue);
        var before = await ScrapeAsync(scraper);

        // Eight concurrent global transactions over both databases: the even ones commit, the odd ones roll back.
        string[] skus = [.. Enumerable.Range(0, 8).Select(i => $"metrics-{i}")];
        await env.SeedStockAsync(skus, 50);
        await Task.WhenAll(skus.Select(async (sku, i) =>
        {
            await using var gtx = await env.Client.BeginAsync("metrics-workload", TimeSpan.FromSeconds(30));
            await using (var orders = await env.Orders.OpenConnectionAsync())
            {
                await orders.ExecuteAsync("INSERT INTO orders (sku) VALUES (@sku)", new { sku });
            }
            await using (var inventory = await env.Inventory.OpenConnectionAsync())
            {
                await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku });
            }
            if (i % 2 == 0)
            {
                await gtx.CommitAsync();
            }
            else
            {
                await gtx.RollbackAsync();
            }
        }));
        await env.WaitForQuiescenceAsync();
        await env.AssertStockMatchesOrdersAsync(skus, 50, committed: 4);

        var after = await ScrapeAsync(scraper);
        Assert.Equal(8, Delta("atproxy_coordinator_transactions_begun_total"));
        Assert.Equal(4, Delta("atproxy_coordinator_transactions_committed_total"));
        Assert.Equal(4, Delta("atproxy_coordinator_transactions_rolled_back_total", ("reason", "application")));
        Assert.True(PrometheusText.Has(after, "atproxy_coordinator_commit_duration_milliseconds_bucket"), after);

        // Scrapers without the token are told to bring one; a wrong one is refused.
        using var anonymous = new HttpClient { BaseAddress = env.ConsoleAddress };
        using (var missing = await anonymous.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        }
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        using (var wrong = await anonymous.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        double Delta(string metric, params (string, string)[] labels) => PrometheusText.Sum(after, metric, labels) - PrometheusText.Sum(before, metric, labels);
    }

    private static async Task<string> ScrapeAsync(HttpClient scraper)
    {
        using var response = await scraper.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return text;
    }
}
