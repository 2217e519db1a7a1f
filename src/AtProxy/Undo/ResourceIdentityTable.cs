using System.Data.Common;
using AtProxy.Protocol.Undo;
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
        var name = UndoLogTables.QualifiedResourceIdentity(schema);
        if (!await UndoLogTable.ExistsAsync(connection, name, cancellationToken).ConfigureAwait(false))
        {
            await CreateAsync(connection, name, cancellationToken).ConfigureAwait(false);
        }
        // Read first: a role that may only read the table (its owner created the row) still learns the identity.
        if (await ReadAsync(connection, name, schema, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }
        var insert = connection.CreateCommand();
        await using (insert.ConfigureAwait(false))
        {
            // The first writer's uuid wins; everyone reads the row that is there.
            insert.CommandText = $"INSERT INTO {name} (identity) VALUES (@identity) ON CONFLICT (singleton) DO NOTHING";
            var parameter = insert.CreateParameter();
            parameter.ParameterName = "identity";
            parameter.Value = Guid.NewGuid();
            insert.Parameters.Add(parameter);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return await ReadAsync(connection, name, schema, cancellationToken).ConfigureAwait(false)
            ?? throw new AtProxyException($"Could not read the resource identity from {name}.");
    }

    private static async Task CreateAsync(DbConnection connection, string name, CancellationToken cancellationToken)
    {
        var create = connection.CreateCommand();
        await using var createDisposal = create.ConfigureAwait(false);
        create.CommandText = $"""
            CREATE TABLE IF NOT EXISTS {name} (
                singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
                identity  uuid        NOT NULL,
                created   timestamptz NOT NULL DEFAULT now())
            """;
        try
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject)
        {
            // Another process created it at the same moment.
        }
    }

    private static async Task<ResourceIdentity?> ReadAsync(DbConnection connection, string name, string schema, CancellationToken cancellationToken)
    {
        var read = connection.CreateCommand();
        await using var readDisposal = read.ConfigureAwait(false);
        read.CommandText = $"SELECT identity::text, current_database() FROM {name}";
        var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? new ResourceIdentity(reader.GetString(0), reader.GetString(1), schema) : null;
    }
}

/// <summary>A resource database's identity, with the names that help a person find it.</summary>
internal sealed record ResourceIdentity(string Id, string Database, string Schema);
