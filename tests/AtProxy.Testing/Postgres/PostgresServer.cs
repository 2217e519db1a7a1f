using AtProxy.Hosting;

namespace AtProxy.Testing.Postgres;

/// <summary>
/// A real PostgreSQL server for tests: the server named by <c>ATPROXY_TEST_PG</c> when set,
/// otherwise an ephemeral cluster started from the machine's PostgreSQL binaries (see
/// <see cref="PostgresInstance"/>). Never a fake: when neither can be had, <see cref="StartAsync"/>
/// fails with a message that says what to install.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>The environment variable naming an existing server to use instead of an ephemeral one.</summary>
    public const string ExistingServerVariable = PostgresInstance.ExistingServerVariable;

    private static readonly Lazy<Task<PostgresServer>> SharedServer = new(StartSharedAsync);
    private readonly PostgresInstance _instance;

    private PostgresServer(PostgresInstance instance) => _instance = instance;

    /// <summary>A connection string to the server's <c>postgres</c> database, as a superuser.</summary>
    public string AdminConnectionString => _instance.AdminConnectionString;

    /// <summary>True when this server is an ephemeral cluster this process started.</summary>
    public bool IsEphemeral => _instance.IsEphemeral;

    /// <summary>The ephemeral cluster's directory, or null for an existing server.</summary>
    public string? ClusterDirectory => _instance.ClusterDirectory;

    /// <summary>
    /// One server for the whole test process, started on first use and stopped when the
    /// process exits. Test classes share it and isolate themselves with their own databases.
    /// </summary>
    public static Task<PostgresServer> SharedAsync() => SharedServer.Value;

    /// <summary>Starts a server of this test's own (or connects to <c>ATPROXY_TEST_PG</c>).</summary>
    public static async Task<PostgresServer> StartAsync() => new(await PostgresInstance.StartAsync());

    /// <summary>Creates an empty database with a unique name; dispose the result to drop it.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync(string prefix = "test") =>
        new(this, await _instance.CreateDatabaseAsync(prefix));

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _instance.DisposeAsync();

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
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server._instance.Stop();
        return server;
    }
}
