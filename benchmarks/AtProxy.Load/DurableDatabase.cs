using AtProxy.Hosting;
using Dapper;
using Npgsql;

namespace AtProxy.Load;

/// <summary>
/// Test clusters run with fsync off; a comparison with PostgreSQL's own two-phase commit, or of the
/// shared store with the embedded one (which flushes its log), means nothing unless every commit
/// pays for durability as it does in production. A server the driver does not own is measured as
/// it is configured.
/// </summary>
internal static class DurableDatabase
{
    /// <summary>Turns durability on for a throw-away server; returns its fsync and synchronous_commit, for the report.</summary>
    public static async Task<string> MakeDurableAsync(PostgresInstance server)
    {
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync();
        if (server.IsEphemeral)
        {
            await connection.ExecuteAsync("ALTER SYSTEM SET fsync = on");
            await connection.ExecuteAsync("ALTER SYSTEM SET synchronous_commit = on");
            await connection.ExecuteAsync("ALTER SYSTEM SET full_page_writes = on");
            await connection.ExecuteAsync("SELECT pg_reload_conf()");
            await Task.Delay(500); // the postmaster passes the reload on to new sessions
        }
        await using var fresh = new NpgsqlConnection(server.AdminConnectionString);
        await fresh.OpenAsync();
        var fsync = await fresh.ExecuteScalarAsync<string>("SHOW fsync");
        var synchronousCommit = await fresh.ExecuteScalarAsync<string>("SHOW synchronous_commit");
        return $"fsync={fsync}, synchronous_commit={synchronousCommit}";
    }
}
