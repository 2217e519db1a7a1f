using AtProxy.Protocol.V1;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>The intervention audit's table (schema version 3): the insert a change carries, the list and the expiry.</summary>
internal static class PostgresInterventions
{
    private const string Columns = "id, at_unix_ms, actor, action, xid, branch_id, reason, status_before, status_after, coordinator_id";

    public static NpgsqlBatchCommand Insert(string schema, Intervention entry) => new($"""
        INSERT INTO {schema}.intervention (at_unix_ms, actor, action, xid, branch_id, reason, status_before, status_after, coordinator_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """)
    {
        Parameters =
        {
            new() { Value = entry.AtUnixMs }, new() { Value = entry.Actor }, new() { Value = entry.Action }, new() { Value = entry.Xid },
            new() { Value = entry.BranchId }, new() { Value = entry.Reason }, new() { Value = (int)entry.StatusBefore },
            new() { Value = (int)entry.StatusAfter }, new() { Value = entry.CoordinatorId },
        },
    };

    public static async Task<IReadOnlyList<Intervention>> ListAsync(NpgsqlDataSource dataSource, string schema, string xid, long beforeId, int limit)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand($"""
            SELECT {Columns} FROM {schema}.intervention
            WHERE id < $1 AND ($2 = '' OR xid = $2)
            ORDER BY id DESC
            LIMIT $3
            """, connection)
        {
            Parameters = { new() { Value = beforeId }, new() { Value = xid }, new() { Value = limit } },
        };
        var page = new List<Intervention>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            page.Add(new Intervention
            {
                Id = reader.GetInt64(0),
                AtUnixMs = reader.GetInt64(1),
                Actor = reader.GetString(2),
                Action = reader.GetString(3),
                Xid = reader.GetString(4),
                BranchId = reader.GetInt64(5),
                Reason = reader.GetString(6),
                StatusBefore = (GlobalStatus)reader.GetInt32(7),
                StatusAfter = (GlobalStatus)reader.GetInt32(8),
                CoordinatorId = reader.GetString(9),
            });
        }
        return page;
    }

    public static async Task ExpireAsync(NpgsqlDataSource dataSource, string schema, long atUnixMs)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand($"DELETE FROM {schema}.intervention WHERE at_unix_ms < $1", connection)
        {
            Parameters = { new() { Value = atUnixMs } },
        };
        await command.ExecuteNonQueryAsync();
    }
}
