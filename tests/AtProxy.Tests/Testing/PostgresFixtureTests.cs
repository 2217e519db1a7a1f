using System.Diagnostics;
using AtProxy.Testing.Postgres;
using Npgsql;

namespace AtProxy.Tests.Testing;

public class PostgresFixtureTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task Opens_a_connection_to_a_real_server_and_reads_a_result()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database(), 6 * 7, current_setting('server_version_num')::int", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(fixture.Database.Name, reader.GetString(0));
        Assert.Equal(42, reader.GetInt32(1));
        Assert.True(reader.GetInt32(2) >= 130000, "PostgreSQL 13 or later is needed");
    }

    [Fact]
    public async Task Ephemeral_server_allows_prepared_transactions_for_the_xa_baseline()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('max_prepared_transactions')::int", connection);
        var max = (int)(await command.ExecuteScalarAsync())!;
        var server = await PostgresServer.SharedAsync();
        if (server.IsEphemeral)
        {
            Assert.Equal(100, max);
        }
        else
        {
            Assert.True(max > 0, $"{PostgresServer.ExistingServerVariable} names a server with max_prepared_transactions = 0");
        }
    }

    [Fact]
    public async Task Each_created_database_is_isolated()
    {
        var server = await PostgresServer.SharedAsync();
        await using var first = await server.CreateDatabaseAsync("iso");
        await using var second = await server.CreateDatabaseAsync("iso");
        Assert.NotEqual(first.Name, second.Name);

        await ExecuteAsync(first.ConnectionString, "CREATE TABLE probe(id int primary key); INSERT INTO probe VALUES (1)");
        // The same table name in the second database proves they do not share a catalog.
        await ExecuteAsync(second.ConnectionString, "CREATE TABLE probe(id int primary key)");
        await using var connection = new NpgsqlConnection(second.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM probe", connection);
        Assert.Equal(0L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Dropped_database_is_gone()
    {
        var server = await PostgresServer.SharedAsync();
        var database = await server.CreateDatabaseAsync("drop");
        await ExecuteAsync(database.ConnectionString, "SELECT 1");
        await database.DisposeAsync();

        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", database.Name);
        Assert.Equal(0L, await exists.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_server_of_its_own_leaves_no_process_or_directory_behind()
    {
        var server = await PostgresServer.StartAsync();
        if (!server.IsEphemeral)
        {
            // An existing server is not ours to stop; the claim is about ephemeral clusters.
            Assert.False(string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresServer.ExistingServerVariable)));
            await server.DisposeAsync();
            return;
        }
        var directory = server.ClusterDirectory!;
        await ExecuteAsync(server.AdminConnectionString, "SELECT 1");
        Assert.True(Directory.Exists(directory));
        Assert.NotEmpty(ServerProcessesUsing(directory));

        await server.DisposeAsync();

        Assert.False(Directory.Exists(directory), $"{directory} was left behind");
        Assert.Empty(ServerProcessesUsing(directory));
    }

    private static List<int> ServerProcessesUsing(string directory)
    {
        var pids = new List<int>();
        foreach (var process in Process.GetProcessesByName("postgres"))
        {
            try
            {
                var commandLine = File.ReadAllText($"/proc/{process.Id}/cmdline").Replace('\0', ' ');
                if (commandLine.Contains(directory, StringComparison.Ordinal))
                {
                    pids.Add(process.Id);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            finally
            {
                process.Dispose();
            }
        }
        return pids;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
