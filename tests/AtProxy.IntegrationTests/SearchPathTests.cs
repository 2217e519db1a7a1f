using Dapper;
using Npgsql;

namespace AtProxy.IntegrationTests;

/// <summary>
/// An unqualified table name resolves through the session's search path, which may differ between
/// data sources of one resource (schema per tenant) and within one session (<c>SET search_path</c>).
/// Images must come from the table the statement wrote, or the statement must fail loudly.
/// </summary>
public class SearchPathTests(OrderInventoryEnvironment env) : IClassFixture<OrderInventoryEnvironment>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync("""
            CREATE SCHEMA IF NOT EXISTS tenant_a; CREATE SCHEMA IF NOT EXISTS tenant_b;
            CREATE TABLE IF NOT EXISTS tenant_a.accounts (id int PRIMARY KEY, balance int NOT NULL);
            CREATE TABLE IF NOT EXISTS tenant_b.accounts (id int PRIMARY KEY, balance int NOT NULL);
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Data_sources_with_their_own_search_path_under_one_resource_each_roll_back_their_own_table()
    {
        await SeedAsync();
        await using var tenantA = env.Client.Wrap(NpgsqlDataSource.Create(WithSearchPath("tenant_a")), "orders-db");
        await using var tenantB = env.Client.Wrap(NpgsqlDataSource.Create(WithSearchPath("tenant_b")), "orders-db");

        await using (var gtx = await env.Client.BeginAsync("two-tenants", TimeSpan.FromSeconds(30)))
        {
            await using (var a = await tenantA.OpenConnectionAsync())
            {
                await a.ExecuteAsync("UPDATE accounts SET balance = balance + 1 WHERE id = 1");
            }
            await using (var b = await tenantB.OpenConnectionAsync())
            {
                await b.ExecuteAsync("UPDATE accounts SET balance = balance + 2 WHERE id = 1");
            }
            Assert.Equal((101, 202), await BalancesAsync());
            await gtx.RollbackAsync();
            Assert.Equal(GlobalTransactionStatus.Rollbacked, gtx.Status);
        }

        Assert.Equal((100, 200), await BalancesAsync());
    }

    [Fact]
    public async Task A_session_that_switches_its_search_path_to_another_table_of_the_same_name_fails_loudly_and_cannot_commit()
    {
        await SeedAsync();
        await using var gtx = await env.Client.BeginAsync("switched-path", TimeSpan.FromSeconds(30));
        await using (var connection = await env.Orders.OpenConnectionAsync())
        {
            // The first session reads tenant_a's table; the next one switches to tenant_b's.
            await connection.ExecuteAsync("SET search_path = tenant_a");
            await connection.ExecuteAsync("UPDATE accounts SET balance = balance + 1 WHERE id = 1");
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("SET LOCAL search_path = tenant_b", transaction: transaction);
            var error = await Assert.ThrowsAnyAsync<AtProxyException>(() => connection.ExecuteAsync("UPDATE accounts SET balance = balance + 2 WHERE id = 1", transaction: transaction));
            Assert.Contains("resolves to another table than tenant_a.accounts", error.Message, StringComparison.Ordinal);
            // The statement ran, but its rows have no undo record: committing them is refused.
            var refused = await Assert.ThrowsAnyAsync<AtProxyException>(() => transaction.CommitAsync());
            Assert.Contains("cannot commit", refused.Message, StringComparison.Ordinal);
            await connection.ExecuteAsync("RESET search_path");
        }
        await gtx.RollbackAsync();

        Assert.Equal((100, 200), await BalancesAsync());
    }

    [Fact]
    public async Task A_locking_read_through_another_search_path_fails_instead_of_locking_the_first_tables_keys()
    {
        await SeedAsync();
        await using var gtx = await env.Client.BeginAsync("switched-path-read", TimeSpan.FromSeconds(30));
        await using var connection = await env.Orders.OpenConnectionAsync();
        await connection.ExecuteAsync("SET search_path = tenant_a");
        Assert.Equal(100, await connection.ExecuteScalarAsync<int>("SELECT balance FROM accounts WHERE id = 1 FOR UPDATE"));
        await connection.ExecuteAsync("SET search_path = tenant_b");
        var error = await Assert.ThrowsAnyAsync<AtProxyException>(() => connection.ExecuteScalarAsync<int>("SELECT balance FROM accounts WHERE id = 1 FOR UPDATE"));
        Assert.Contains("resolves to another table", error.Message, StringComparison.Ordinal);
        await connection.ExecuteAsync("RESET search_path");
    }

    private string WithSearchPath(string schema) =>
        new NpgsqlConnectionStringBuilder(env.OrdersConnectionString) { SearchPath = schema }.ConnectionString;

    private async Task SeedAsync()
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        await connection.ExecuteAsync("""
            DELETE FROM tenant_a.accounts; DELETE FROM tenant_b.accounts;
            INSERT INTO tenant_a.accounts VALUES (1, 100); INSERT INTO tenant_b.accounts VALUES (1, 200);
            """);
    }

    private async Task<(int A, int B)> BalancesAsync()
    {
        await using var connection = new NpgsqlConnection(env.OrdersConnectionString);
        return await connection.QuerySingleAsync<(int, int)>(
            "SELECT (SELECT balance FROM tenant_a.accounts WHERE id = 1), (SELECT balance FROM tenant_b.accounts WHERE id = 1)");
    }
}
