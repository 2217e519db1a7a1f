using Npgsql;

namespace AtProxy.Hosting;

/// <summary>
/// A real PostgreSQL server to work on: the server named by <c>ATPROXY_TEST_PG</c> when set,
/// otherwise an <see cref="EphemeralPostgres"/> cluster under <c>atproxy-pg-{pid}-…</c> in the
/// temp directory. Never a fake: when neither can be had, <see cref="StartAsync"/> fails with a
/// message that says what to install.
/// </summary>
public sealed class PostgresInstance : IAsyncDisposable
{
    /// <summary>The environment variable naming an existing server (a superuser connection string) to use instead of an ephemeral one.</summary>
    public const string ExistingServerVariable = "ATPROXY_TEST_PG";

    /// <summary>What the directories of ephemeral clusters start with (checked for leftovers by build.ps1).</summary>
    public const string DirectoryPrefix = "atproxy-pg-";

    private const string InstallHint =
        PostgresBinaries.InstallHint + " Or point " + ExistingServerVariable + " at a server you run, e.g. " +
        ExistingServerVariable + "='Host=127.0.0.1;Port=5432;Username=postgres;Password=...'.";

    private static readonly IReadOnlyDictionary<string, string> ClusterSettings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // The XA mode of the load driver and the tests of prepared transactions need them.
        ["max_prepared_transactions"] = "100",
        ["shared_buffers"] = "128MB",
    };

    private readonly EphemeralPostgres? _cluster;

    private PostgresInstance(string adminConnectionString, EphemeralPostgres? cluster)
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

    /// <summary>Connects to <c>ATPROXY_TEST_PG</c> when set, otherwise starts an ephemeral cluster.</summary>
    /// <exception cref="InvalidOperationException">The server could not be reached or started.</exception>
    public static async Task<PostgresInstance> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(ExistingServerVariable) is { Length: > 0 } existing)
        {
            var builder = new NpgsqlConnectionStringBuilder(existing) { Database = "postgres" };
            var server = new PostgresInstance(builder.ConnectionString, cluster: null);
            await server.CheckReachableAsync($"{ExistingServerVariable} names a server that could not be reached.").ConfigureAwait(false);
            return server;
        }

        var cluster = await StartClusterAsync().ConfigureAwait(false);
        var connectionString = cluster.ConnectionString("postgres");
        // Callers open many short-lived pools; keep each one small.
        connectionString.MaxPoolSize = 50;
        connectionString.Timeout = 30;
        var started = new PostgresInstance(connectionString.ConnectionString, cluster);
        await started.CheckReachableAsync("The ephemeral PostgreSQL cluster started but refuses connections.").ConfigureAwait(false);
        return started;
    }

    /// <summary>Creates an empty database with a unique name starting with <paramref name="prefix"/>; dispose the result to drop it.</summary>
    public async Task<ScratchDatabase> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid().ToString("N")[..10]}";
        await AdminSql.ExecuteAsync(AdminConnectionString, $"CREATE DATABASE \"{name}\"").ConfigureAwait(false);
        var connectionString = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
        return new ScratchDatabase(this, name, connectionString);
    }

    /// <summary>Closes the pooled connections of every database and stops the cluster, if this process started one.</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Synchronous stop of the cluster for process-exit handlers, which cannot await.</summary>
    public void Stop() => _cluster?.Stop();

    internal async Task DropDatabaseAsync(string name, string connectionString)
    {
        var pooled = new NpgsqlConnection(connectionString);
        await using (pooled.ConfigureAwait(false))
        {
            NpgsqlConnection.ClearPool(pooled);
        }
        await AdminSql.ExecuteAsync(AdminConnectionString, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").ConfigureAwait(false);
    }

    private static async Task<EphemeralPostgres> StartClusterAsync()
    {
        if (await PostgresBinaries.FindAsync().ConfigureAwait(false) is null)
        {
            throw new InvalidOperationException("No PostgreSQL server binaries (initdb, pg_ctl) were found. " + InstallHint);
        }
        await RemoveLeftoversAsync().ConfigureAwait(false);

        Exception? last = null;
        // A port found free can be taken by someone else before the server binds it; try a few.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                return await EphemeralPostgres.StartAsync(RunDirectory.Create(DirectoryPrefix, 12), ClusterSettings).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                last = ex;
            }
        }
        throw last!;
    }

    /// <summary>Stops and deletes clusters left by processes that died without cleaning up.</summary>
    private static async Task RemoveLeftoversAsync()
    {
        foreach (var dir in RunDirectory.Abandoned(DirectoryPrefix))
        {
            try
            {
                await EphemeralPostgres.RemoveAbandonedAsync(dir).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or TimeoutException)
            {
                // Another process may be cleaning the same leftover; it is not ours to fail on.
            }
        }
    }

    private async Task CheckReachableAsync(string failure)
    {
        try
        {
            var connection = new NpgsqlConnection(AdminConnectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new InvalidOperationException($"{failure} {ex.Message} {InstallHint}", ex);
        }
    }

    private static string Sanitize(string prefix)
    {
        var cleaned = new string(prefix.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        return cleaned.Length > 40 ? cleaned[..40] : cleaned;
    }
}
