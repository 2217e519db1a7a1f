using System.Data.Common;
using Npgsql;

namespace AtProxy.Undo;

/// <summary>
/// The identity of one resource database and undo-log schema: a uuid created once, on first use,
/// in the <c>atproxy_resource_identity</c> table next to <c>atproxy_undo_log</c>. Branches are
/// registered with it, and phase 2 runs only where it matches, so a resource id wrapped over another
/// database (a second deployment, another search path or undo schema) refuses instead of answering
/// for data it does not hold.
/// </summary>
internal static class ResourceIdentityTable
{
    /// <summary>Creates the table and its one row when missing (safe against concurrent callers) and reads it.</summary>
    public static async Task<ResourceIdentity> EnsureAsync(DbConnection connection, string schema, CancellationToken cancellationToken)
    {
        var name = $"{UndoLogTable.QuoteIdentifier(schema)}.atproxy_resource_identity";
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = $"""
                CREATE TABLE IF NOT EXISTS {name} (
                    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
                    identity  uuid        NOT NULL,
                    created   timestamptz NOT NULL DEFAULT now())
                """;
            try
            {
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject)
            {
                // Another process created it at the same moment.
            }
        }
        await using var read = connection.CreateCommand();
        // The first writer's uuid wins; everyone reads the row that is there.
        read.CommandText = $"""
            INSERT INTO {name} (identity) VALUES (@identity) ON CONFLICT (singleton) DO NOTHING;
            SELECT identity::text, current_database() FROM {name}
            """;
        var parameter = read.CreateParameter();
        parameter.ParameterName = "identity";
        parameter.Value = Guid.NewGuid();
        read.Parameters.Add(parameter);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new AtProxyException($"Could not read the resource identity from {name}.");
        }
        return new ResourceIdentity(reader.GetString(0), reader.GetString(1), schema);
    }
}

/// <summary>A resource database's identity, with the names that help a person find it.</summary>
internal sealed record ResourceIdentity(string Id, string Database, string Schema);
