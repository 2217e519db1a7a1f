using AtProxy.Metadata;
using AtProxy.Sql;
using Npgsql;

namespace AtProxy.Tests.Sql;

/// <summary>
/// Reads <see cref="TableMetadata"/> from the catalog for the tests (the proxy has its own loader);
/// resolves an unqualified name through the search path as PostgreSQL does.
/// </summary>
internal static class CatalogReader
{
    public static async Task<TableMetadata> LoadAsync(NpgsqlConnection connection, TableReference table, NpgsqlTransaction? transaction = null)
    {
        var quoted = (table.Schema is null ? "" : Quote(table.Schema) + ".") + Quote(table.Name);
        const string sql = """
            SELECT n.nspname, c.relname, c.relkind::text, a.attname, a.attnum::int, format_type(a.atttypid, a.atttypmod),
                   NOT a.attnotnull, a.atthasdef OR a.attidentity <> '', a.attgenerated <> '', a.attidentity = 'a',
                   coalesce((SELECT k.ord FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) WHERE k.attnum = a.attnum), 0)::int AS key_position
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
            WHERE c.oid = to_regclass(@name)
            ORDER BY a.attnum
            """;
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue("name", quoted);
        await using var reader = await command.ExecuteReaderAsync();
        string? schema = null, name = null;
        var isView = false;
        var columns = new List<ColumnMetadata>();
        var keys = new List<(int Position, ColumnMetadata Column)>();
        while (await reader.ReadAsync())
        {
            schema = reader.GetString(0);
            name = reader.GetString(1);
            isView = reader.GetString(2) is "v" or "m";
            var column = new ColumnMetadata(reader.GetString(3), reader.GetInt32(4), reader.GetString(5), reader.GetBoolean(6), reader.GetBoolean(7), reader.GetBoolean(8), reader.GetBoolean(9));
            columns.Add(column);
            if (reader.GetInt32(10) > 0)
            {
                keys.Add((reader.GetInt32(10), column));
            }
        }
        if (schema is null || name is null)
        {
            throw new InvalidOperationException($"Table {quoted} is not in the corpus schema.");
        }
        return new TableMetadata(schema, name, columns, keys.OrderBy(k => k.Position).Select(k => k.Column).ToList(), isView);
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
