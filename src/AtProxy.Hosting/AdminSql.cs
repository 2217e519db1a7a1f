using Npgsql;

namespace AtProxy.Hosting;

/// <summary>Runs one administrative statement (CREATE/DROP DATABASE) on a connection of its own.</summary>
internal static class AdminSql
{
    /// <summary>Opens a connection with <paramref name="connectionString"/>, runs <paramref name="sql"/> and closes it.</summary>
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        var connection = new NpgsqlConnection(connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            var command = new NpgsqlCommand(sql, connection);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
    }
}
