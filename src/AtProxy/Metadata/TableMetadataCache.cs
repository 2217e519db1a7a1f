using System.Collections.Concurrent;
using System.Data.Common;

namespace AtProxy.Metadata;

/// <summary>
/// Table metadata of one resource database, read from the catalog on first use and kept until a
/// statement shows it is stale (<see cref="Invalidate"/>).
/// </summary>
/// <param name="functionSchema">The schema of AtProxy's helper functions (the undo log's), unquoted.</param>
internal sealed class TableMetadataCache(string functionSchema)
{
    private readonly ConcurrentDictionary<(string Schema, string Name, string SearchPathOf), TableMetadata> _tables = new();

    /// <summary>
    /// The metadata of a table named as a statement names it (<paramref name="schema"/> null for an
    /// unqualified name, resolved through the connection's search path); catalog spelling, not quoted.
    /// </summary>
    /// <remarks>
    /// An unqualified name is cached per connection string: data sources of one resource may set
    /// different search paths. A session that changes its own search path is caught when the
    /// statement runs (the row type it returns is not the cached table's).
    /// </remarks>
    public async ValueTask<TableMetadata> GetAsync(DbConnection connection, DbTransaction? transaction, string? schema, string name, CancellationToken cancellationToken)
    {
        var key = (schema ?? "", name, schema is null ? connection.ConnectionString : "");
        if (_tables.TryGetValue(key, out var cached))
        {
            return cached;
        }
        var table = await PostgresMetadataReader.ReadAsync(connection, transaction, functionSchema, schema, name, cancellationToken).ConfigureAwait(false);
        _tables[key] = table;
        return table;
    }

    /// <summary>Forgets a table, under every connection string (e.g. after a statement failed because its columns changed).</summary>
    public void Invalidate(string? schema, string name)
    {
        foreach (var key in _tables.Keys)
        {
            if (key.Schema == (schema ?? "") && key.Name == name)
            {
                _tables.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Forgets every table.</summary>
    public void Clear() => _tables.Clear();
}
