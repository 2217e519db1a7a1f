using AtProxy.Testing;
using AtProxy.Testing.Alerts;
using AtProxy.Testing.Coordinator;
using Dapper;
using Npgsql;

namespace AtProxy.Cli.Tests.Support;

/// <summary>
/// A coordinator process with short phase-2 retry budgets and its alert webhook pointed at a real
/// HTTP endpoint of the test's own. The environment's client is the transaction's originator only
/// (it wraps no database); the inventory service is a second client per test, which the test stops
/// after phase 1 (its resource manager gone, phase 2 cannot reach the database) and starts again to
/// remove the cause.
/// </summary>
public sealed class RetryTimeoutEnvironment() : TwoDatabaseEnvironment("p2end_", "p2end-orders")
{
    public const string ServiceApplicationId = "p2end-inventory";
    public const string ResourceId = "p2end-inventory-db";
    public const int RetryBudgetMs = 1500;

    public AlertWebhookReceiver Webhook { get; } = new();

    public CliRunner Cli { get; private set; } = null!;

    protected override bool WrapsDataSources => false;

    protected override Task CreateSchemaAsync(NpgsqlConnection orders, NpgsqlConnection inventory) =>
        inventory.ExecuteAsync("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL, sold int NOT NULL DEFAULT 0)");

    protected override void ConfigureCoordinator(CoordinatorProcessOptions options)
    {
        options.Settings["Coordinator:MaxRollbackRetryMs"] = $"{RetryBudgetMs}";
        options.Settings["Coordinator:MaxCommitRetryMs"] = $"{RetryBudgetMs}";
        options.Settings["Coordinator:AlertWebhookUrl"] = Webhook.Url.ToString();
        options.Settings["Coordinator:UnfinishedAlertAfterMs"] = "0";
        options.Settings["Coordinator:RetryInitialDelayMs"] = "100";
        options.Settings["Coordinator:RetryMaxDelayMs"] = "300";
        options.Settings["Coordinator:SweepIntervalMs"] = "50";
    }

    protected override Task StartedAsync()
    {
        Cli = new CliRunner(new Dictionary<string, string?>
        {
            ["ATPROXY_COORDINATOR"] = Coordinator.Address.ToString(),
            ["ATPROXY_ADMIN_TOKEN"] = null,
            ["ATPROXY_OPERATOR"] = "ops-carol",
            ["NO_COLOR"] = "1",
            ["COLUMNS"] = null,
            ["DOTNET_NOLOGO"] = "1",
        });
        return Task.CompletedTask;
    }

    /// <summary>The inventory service: a client of its own wrapping the inventory database, once its resource manager has subscribed.</summary>
    public async Task<(AtProxyClient Client, AtDbDataSource Inventory)> StartInventoryServiceAsync()
    {
        var client = AtProxyClient.Create(new AtProxyOptions { Coordinator = Coordinator.Address, ApplicationId = ServiceApplicationId });
        var inventory = client.Wrap(NpgsqlDataSource.Create(InventoryConnectionString), ResourceId);
        await WaitForResourceManagerAsync(ServiceApplicationId, ResourceId);
        return (client, inventory);
    }

    public async Task SeedAsync(string sku, int count)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        await connection.ExecuteAsync("INSERT INTO stock (sku, count) VALUES (@sku, @count)", new { sku, count });
    }

    /// <summary>The undo rows of one transaction in the inventory database.</summary>
    public async Task<long> UndoRowsOfAsync(string xid)
    {
        await using var connection = new NpgsqlConnection(InventoryConnectionString);
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM atproxy_undo_log WHERE xid = @xid", new { xid });
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Webhook.DisposeAsync();
    }
}
