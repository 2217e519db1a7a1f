using Npgsql;

namespace AtProxy.Testing.Postgres;

/// <summary>
/// A real PostgreSQL server for tests: the server named by <c>ATPROXY_TEST_PG</c> when set,
/// otherwise an ephemeral cluster started from the machine's PostgreSQL binaries.
/// Never a fake: when neither can be had, <see cref="StartAsync"/> fails with a message that
/// says what to install.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>The environment variable naming an existing server to use instead of an ephemeral one.</summary>
    public const string ExistingServerVariable = "ATPROXY_TEST_PG";

    private static readonly Lazy<Task<PostgresServer>> SharedServer = new(StartSharedAsync);
    private readonly EphemeralCluster? _cluster;

    private PostgresServer(string adminConnectionString, EphemeralCluster? cluster)
    {
        AdminConnectionString = adminConnectionString;
        _cluster = cluster;
    }

    /// <summary>A connection string to the server's <c>postgres</c> database, as a superuser.</summary>
    public string AdminConnectionString { get; }

    /// <summary>True when this server is an ephemeral cluster this process started.</summary>
    public bool IsEphemeral => _cluster is not null;

    /// <summary>The ephemeral cluster's directory, or null for an existing server.</summary>
    public string? ClusterDirectory => _cluster?.RootDirectory;

    /// <summary>
    /// One server for the whole test process, started on first use and stopped when the
    /// process exits. Test classes share it and isolate themselves with their own databases.
    /// </summary>
    public static Task<PostgresServer> SharedAsync() => SharedServer.Value;

    /// <summary>Starts a server of this test's own (or connects to <c>ATPROXY_TEST_PG</c>).</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(ExistingServerVariable) is { Length: > 0 } existing)
        {
            var builder = new NpgsqlConnectionStringBuilder(existing) { Database = "postgres" };
            var server = new PostgresServer(builder.ConnectionString, cluster: null);
            await server.CheckReachableAsync($"{ExistingServerVariable} names a server that could not be reached.");
            return server;
        }

        var cluster = await EphemeralCluster.StartAsync();
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = cluster.Port,
            Username = "postgres",
            Database = "postgres",
            // Tests open many short-lived pools; keep each one small.
            MaxPoolSize = 50,
            Timeout = 30,
        }.ConnectionString;
        var started = new PostgresServer(connectionString, cluster);
        await started.CheckReachableAsync("The ephemeral PostgreSQL cluster started but refuses connections.");
        return started;
    }

    /// <summary>Creates an empty database with a unique name; dispose the result to drop it.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid().ToString("N")[..10]}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
        return new TestDatabase(this, name, connectionString);
    }

    internal async Task DropDatabaseAsync(string name, string connectionString)
    {
        await using (var pooled = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(pooled);
        }
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Stops the shared server if it was started (called once all tests of the assembly are done).</summary>
    public static async Task StopSharedAsync()
    {
        if (SharedServer.IsValueCreated && SharedServer.Value.IsCompletedSuccessfully)
        {
            await SharedServer.Value.Result.DisposeAsync();
        }
    }

    private static async Task<PostgresServer> StartSharedAsync()
    {
        var server = await StartAsync();
        // AtProxyTestFramework stops it when the tests are done; this covers hosts without it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server._cluster?.Stop();
        return server;
    }

    private async Task CheckReachableAsync(string failure)
    {
        try
        {
            await using var connection = new NpgsqlConnection(AdminConnectionString);
            await connection.OpenAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new InvalidOperationException($"{failure} {ex.Message} {PostgresBinaries.InstallHint}", ex);
        }
    }

    private static string Sanitize(string prefix)
    {
        var cleaned = new string(prefix.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        return cleaned.Length > 40 ? cleaned[..40] : cleaned;
    }
}
