using System.Net;
using AtProxy.Hosting;
using AtProxy.Protocol.V1;
using AtProxy.Testing;
using AtProxy.Testing.Coordinator;
using Dapper;
using Npgsql;

namespace AtProxy.Console.Tests.Support;

/// <summary>
/// Real servers for the console tests (<see cref="TwoDatabaseEnvironment"/>): a coordinator process
/// with its admin endpoint on a port of its own and an admin token, an application whose proxied
/// data sources make real global transactions on the inventory database, and one headless
/// chromium signed in to the console.
/// </summary>
public sealed class ConsoleEnvironment() : TwoDatabaseEnvironment("console_", ClientApplicationId)
{
    public const string AdminTokenValue = "console-admin-secret";
    public const string ClientApplicationId = "console-tests";
    public const string OperatorName = "alice";

    private readonly int _adminPort = FreePort.Find();

    protected override string? AdminToken => AdminTokenValue;

    /// <summary>The console's address, e.g. http://127.0.0.1:41235.</summary>
    public Uri ConsoleAddress => new($"http://127.0.0.1:{_adminPort}");

    public ConsoleBrowser Browser { get; private set; } = null!;

    protected override async Task CreateSchemaAsync(NpgsqlConnection orders, NpgsqlConnection inventory)
    {
        await orders.ExecuteAsync("CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL)");
        await inventory.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0)");
    }

    protected override void ConfigureCoordinator(CoordinatorProcessOptions options)
    {
        options.Settings["Coordinator:AdminToken"] = AdminTokenValue;
        options.Settings["Coordinator:AdminUrls"] = ConsoleAddress.GetLeftPart(UriPartial.Authority);
    }

    protected override async Task StartedAsync()
    {
        // One committed global transaction up front: the proxy creates atproxy_undo_log on first use.
        await SeedStockAsync(["warm-up"], 1);
        await using (var gtx = await Client.BeginAsync("warm-up", TimeSpan.FromSeconds(30)))
        {
            await using (var connection = await Inventory.OpenConnectionAsync())
            {
                await connection.ExecuteAsync("UPDATE stock SET count = 2 WHERE sku = 'warm-up'");
            }
            await gtx.CommitAsync();
        }
        Browser = ConsoleBrowser.Start(ConsoleAddress);
        Browser.SignIn(AdminTokenValue, OperatorName);
    }

    protected override Task StoppingAsync()
    {
        Browser?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>
    /// A global transaction that took <paramref name="sku"/> from 100 to 90 and is still open (BEGIN),
    /// after someone set the row to 12345 outside it: its rollback will stop at the dirty write.
    /// Dispose the returned transaction at the end of the test.
    /// </summary>
    public async Task<GlobalTransaction> BeginDirtiedTransactionAsync(string sku)
    {
        await SeedStockAsync([sku], 100);
        var gtx = await Client.BeginAsync("console-dirty-write", TimeSpan.FromMinutes(5));
        await using (var connection = await Inventory.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE stock SET count = count - 10 WHERE sku = @sku", new { sku });
        }
        await SetStockBehindTheProxyAsync(sku, 12345);
        return gtx;
    }

    /// <summary>Signs a fresh cookie jar in to the console over plain HTTP, for requests a browser would not make.</summary>
    public async Task<HttpClient> SignedInHttpClientAsync()
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = ConsoleAddress };
        var form = await client.GetStringAsync("/signin");
        using var response = await client.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = AdminTokenValue,
            ["name"] = "scripted",
            [AntiforgeryField] = AntiforgeryTokenIn(form),
        }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return client;
    }

    /// <summary>The anti-forgery form field the console's forms carry.</summary>
    public const string AntiforgeryField = "__console_token";

    public static string AntiforgeryTokenIn(string html)
    {
        var marker = $"name=\"{AntiforgeryField}\" type=\"hidden\" value=\"";
        var start = html.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, $"The page has no {AntiforgeryField} field:\n{html}");
        start += marker.Length;
        return html[start..html.IndexOf('"', start)];
    }

    public Task<GetCoordinatorStatusResponse> StatusAsync() => Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync;
}
