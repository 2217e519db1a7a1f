using AtProxy.Coordinator.Storage.Postgres;
using AtProxy.Testing.Postgres;
using Microsoft.Extensions.Options;
using Grpc.Health.V1;
using Npgsql;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// What only the shared store does: its versioned schema, settings, and several coordinators
/// in one process working on one database (the whole suite runs on it as well, see <see cref="StoreKinds"/>).
/// </summary>
public class PostgresStoreTests
{
    [Fact]
    public async Task Start_on_an_empty_database_creates_the_schema_at_the_current_version_and_keeps_state_across_restarts()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync("postgres");
        var xid = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(xid, "db", "t:1", "t:2");

        await coordinator.RestartAsync();

        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync(coordinator.StoreConnection!, "SELECT max(version) FROM atproxy_coordinator.schema_version"));
        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(xid));
        Assert.Equal(2, await coordinator.Admin.LockCountAsync(xid));
        Assert.Equal(GlobalStatus.AsyncCommitting, await coordinator.Tm.CommitAsync(xid));
        Assert.Equal(0, await coordinator.Admin.LockCountAsync(xid));
    }

    [Fact]
    public async Task Start_on_a_schema_newer_than_this_coordinator_is_refused_with_a_clear_message()
    {
        await using var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("tc_newer");
        await (await InProcessCoordinator.StartAsync("postgres", storeConnection: database.ConnectionString)).DisposeAsync();
        await ScalarAsync(database.ConnectionString, $"INSERT INTO atproxy_coordinator.schema_version (version) VALUES ({PostgresSchema.CurrentVersion + 1}) RETURNING version");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => InProcessCoordinator.StartAsync("postgres", storeConnection: database.ConnectionString));

        Assert.Contains($"version {PostgresSchema.CurrentVersion + 1}, newer than this coordinator's {PostgresSchema.CurrentVersion}", error.Message);
    }

    [Theory]
    [InlineData("--store postgres", "StoreConnection (--store-connection) must be an Npgsql connection string")]
    [InlineData("--store postgres --store-connection Bogus=1", "is not a valid Npgsql connection string")]
    [InlineData("--store postgres --store-connection Host=127.0.0.1 --Coordinator:StoreSchema=Bad-Name", "StoreSchema 'Bad-Name' must be")]
    [InlineData("--store embedded --store-connection Host=127.0.0.1", "it is used by the postgres store only")]
    [InlineData("--store postgres --store-connection Host=127.0.0.1 --Coordinator:LeaseMs=10", "LeaseMs must be at least 1000")]
    public async Task Start_bad_store_settings_stops_with_a_message_naming_the_setting(string arguments, string expected)
    {
        var app = CoordinatorApplication.Build(["--urls", "http://127.0.0.1:0", .. arguments.Split(' ')]);
        await using (app)
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => CoordinatorApplication.StartAsync(app));
            Assert.Contains(expected, string.Join(" ", error.Failures));
        }
    }

    [Fact]
    public async Task Two_coordinators_on_one_store_share_locks_and_transactions_and_phase_two_waits_for_a_resource_manager_connected_to_either()
    {
        await using var a = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-a");
        await using var b = await InProcessCoordinator.StartAsync("postgres", s => s["Coordinator:NodeId"] = "tc-b", storeConnection: a.StoreConnection);

        var first = await a.Tm.BeginAsync();
        await a.Rm.RegisterGrantedAsync(first, "db", "t:1", "t:2");
        var second = await b.Tm.BeginAsync();
        var conflict = (await b.Rm.RegisterAsync(second, "db", "t:3", "t:2")).Conflict;
        Assert.Equal((first, "t", "2"), (conflict.HolderXid, conflict.Key.Table, conflict.Key.PrimaryKey));
        Assert.True((await a.Rm.CheckAsync(second, "db", "t:3")).Lockable); // the conflicting registration acquired nothing
        await b.Rm.RegisterGrantedAsync(first, "db", "t:4"); // any instance serves any call of any transaction
        Assert.Equal(GlobalStatus.Begin, await b.Tm.StatusAsync(first));

        // No resource manager anywhere yet: commit is decided on a, phase 2 waits.
        Assert.Equal(GlobalStatus.AsyncCommitting, await a.Tm.CommitAsync(first));
        await a.Tm.WaitForStatusAsync(first, GlobalStatus.CommitRetrying);
        // The locks went with the commit decision, for both coordinators.
        await b.Rm.RegisterGrantedAsync(second, "db", "t:2");

        // A resource manager connected to b only: whichever coordinator claims the retry, it ends.
        await using var rm = await ScriptedResourceManager.ConnectAsync(b.Channel, "app", "db");
        await a.Tm.WaitForStatusAsync(first, GlobalStatus.Committed, TimeSpan.FromSeconds(20));
        Assert.Equal(2, rm.Received.Where(c => c.Xid == first && c.Action == BranchAction.Commit).Select(c => c.BranchId).Distinct().Count());

        // a has no resource manager for the rollback either: it answers with the decision, and b finishes it.
        Assert.Contains(await a.Tm.RollbackAsync(second), new[] { GlobalStatus.RollbackRetrying, GlobalStatus.Rollbacked }); // not ROLLBACKING: an attempt's outcome is awaited
        await a.Tm.WaitForStatusAsync(second, GlobalStatus.Rollbacked, TimeSpan.FromSeconds(20));
        Assert.Equal(0, await b.Admin.LockCountAsync());
        var history = await a.Admin.GetTransactionAsync(new GetTransactionRequest { Xid = first });
        Assert.Equal([GlobalStatus.AsyncCommitting, GlobalStatus.CommitRetrying, GlobalStatus.Committed], history.History.Select(h => h.To));
        Assert.True(history.Transaction.Attempts >= 2);
    }

    [Fact]
    public async Task Database_refuses_connections_changes_are_unavailable_health_says_not_serving_and_both_come_back()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync("postgres");
        var before = await coordinator.Tm.BeginAsync();
        var database = new NpgsqlConnectionStringBuilder(coordinator.StoreConnection).Database;
        var admin = (await PostgresServer.SharedAsync()).AdminConnectionString;
        var health = new Health.HealthClient(coordinator.Channel);
        await ScalarAsync(admin, $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false; SELECT 1");
        try
        {
            await ScalarAsync(admin, $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{database}'");

            var begin = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.BeginAsync());
            var commit = await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.CommitAsync(before));

            Assert.Equal((StatusCode.Unavailable, StatusCode.Unavailable), (begin.StatusCode, commit.StatusCode));
            await Eventually.EqualAsync(HealthCheckResponse.Types.ServingStatus.NotServing,
                async () => (await health.CheckAsync(new HealthCheckRequest())).Status, Eventually.DefaultTimeout, "health");
        }
        finally
        {
            await ScalarAsync(admin, $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true; SELECT 1");
        }

        await Eventually.EqualAsync(HealthCheckResponse.Types.ServingStatus.Serving,
            async () => (await health.CheckAsync(new HealthCheckRequest())).Status, Eventually.DefaultTimeout, "health");
        Assert.Equal(GlobalStatus.Begin, await coordinator.Tm.StatusAsync(before));
        Assert.Equal(GlobalStatus.Committed, await coordinator.Tm.CommitAsync(before));
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
