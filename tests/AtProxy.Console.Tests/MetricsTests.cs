using System.Net;
using System.Net.Http.Headers;
using AtProxy.Console.Tests.Support;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
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
        Assert.Equal(4, Delta("atproxy_coordinator_transactions_ended_total", ("status", "COMMITTED"), ("name", "metrics-workload")));
        Assert.Equal(4, Delta("atproxy_coordinator_transactions_ended_total", ("status", "ROLLBACKED"), ("name", "metrics-workload")));
        Assert.True(PrometheusText.Has(after, "atproxy_coordinator_commit_duration_seconds_bucket"), after);

        // What is held now, while a rollback stopped at a dirty write holds its lock: the gauges say what GetCoordinatorStatus says.
        string stuck;
        await using (var gtx = await env.BeginDirtiedTransactionAsync("metrics-stuck"))
        {
            stuck = gtx.Xid;
            await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        }
        await AssertGaugesMatchTheAdminApiAsync(scraper, expectedLocks: 1);

        await env.SetStockBehindTheProxyAsync("metrics-stuck", 90);
        await env.Admin.RetryAsync(new InterveneRequest { Xid = stuck, Reason = "test cleanup" });
        await env.WaitForStatusAsync(stuck, GlobalStatus.Rollbacked);
        await env.WaitForQuiescenceAsync();
        await AssertGaugesMatchTheAdminApiAsync(scraper, expectedLocks: 0);

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

    /// <summary>
    /// Waits until a scrape's gauges (locks held, active transactions by status) equal what the admin API
    /// reports and the expected lock count (the gauges may reuse a count up to half a second old).
    /// </summary>
    private async Task AssertGaugesMatchTheAdminApiAsync(HttpClient scraper, int expectedLocks)
    {
        var seen = "";
        await Eventually.TrueAsync(async () =>
        {
            var status = await env.StatusAsync();
            var scraped = await ScrapeAsync(scraper);
            var active = status.TransactionsByStatus.Where(c => c.Count > 0 && !IsEnded(c.Status)).ToList();
            var gauges = active.Select(c => (c.Status, Scraped: PrometheusText.Sum(scraped, "atproxy_coordinator_transactions_active", ("status", StatusName(c.Status))), c.Count)).ToList();
            var locks = PrometheusText.Sum(scraped, "atproxy_coordinator_locks_held");
            var activeTotal = PrometheusText.Sum(scraped, "atproxy_coordinator_transactions_active");
            seen = $"locks held: scraped {locks}, admin API {status.LocksHeld}, expected {expectedLocks}; active: scraped {activeTotal} in all, " +
                string.Join(", ", gauges.Select(g => $"{g.Status} scraped {g.Scraped} admin API {g.Count}"));
            return locks == status.LocksHeld && locks == expectedLocks
                && gauges.All(g => g.Scraped == g.Count) && activeTotal == active.Sum(c => c.Count);
        }, TimeSpan.FromSeconds(15), () => Task.FromResult($"the gauges to match the admin API ({seen})"));
    }

    private static bool IsEnded(GlobalStatus status) =>
        status is GlobalStatus.Committed or GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.Finished;

    /// <summary>The contract's name of a status (GLOBAL_STATUS_ROLLBACK_FAILED → ROLLBACK_FAILED), as the gauges tag it.</summary>
    private static string StatusName(GlobalStatus status) =>
        typeof(GlobalStatus).GetField(status.ToString())!.GetCustomAttributes(typeof(Google.Protobuf.Reflection.OriginalNameAttribute), false)
            .Cast<Google.Protobuf.Reflection.OriginalNameAttribute>().Single().Name["GLOBAL_STATUS_".Length..];

    private static async Task<string> ScrapeAsync(HttpClient scraper)
    {
        using var response = await scraper.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return text;
    }
}
