using System.Data.Common;

namespace AtProxy.Metadata;

/// <summary>Reads a table's columns, types and primary key from PostgreSQL's catalog in one round trip.</summary>
internal static class PostgresMetadataReader
{
    // to_regclass resolves an unqualified name through the search path exactly as the statement will.
    private const string Query = """
        WITH rel AS (
            SELECT c.oid, n.nspname, c.relname, c.relkind
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = to_regclass(@name))
        SELECT rel.nspname, rel.relname, rel.relkind::text,
               a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
               a.atthasdef OR a.attidentity <> '', a.attgenerated <> '', a.attidentity = 'a',
               (SELECT k.ord FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                WHERE i.indrelid = rel.oid AND i.indisprimary AND k.attnum = a.attnum)
        FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """;

    public static async Task<TableMetadata> ReadAsync(DbConnection connection, DbTransaction? transaction, string? schema, string name, CancellationToken cancellationToken)
    {
        var regclass = schema is null ? Quote(name) : $"{Quote(schema)}.{Quote(name)}";
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Query;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "name";
        parameter.Value = regclass;
        command.Parameters.Add(parameter);

        string? catalogSchema = null, catalogName = null, kind = null;
        var columns = new List<ColumnMetadata>();
        var keyOrder = new List<(long Order, ColumnMetadata Column)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                catalogSchema ??= reader.GetString(0);
                catalogName ??= reader.GetString(1);
                kind ??= reader.GetString(2);
                var column = new ColumnMetadata(
                    Name: reader.GetString(3),
                    Ordinal: reader.GetInt16(4),
                    DataType: reader.GetString(5),
                    IsNullable: reader.GetBoolean(6),
                    HasDefault: reader.GetBoolean(7),
                    IsGenerated: reader.GetBoolean(8),
                    IsIdentityAlways: reader.GetBoolean(9));
                columns.Add(column);
                if (!reader.IsDBNull(10))
                {
                    keyOrder.Add((reader.GetInt64(10), column));
                }
            }
        }
        if (catalogName is null)
        {
            throw new AtProxyException($"Table {regclass} does not exist (or is not on the connection's search path).");
        }
        var primaryKey = keyOrder.OrderBy(k => k.Order).Select(k => k.Column).ToArray();
        // 'r' and 'p' are tables (plain and partitioned); views, foreign and materialized tables are not undoable here.
        return new TableMetadata(catalogSchema!, catalogName, columns, primaryKey, IsView: kind is not ("r" or "p"));
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
