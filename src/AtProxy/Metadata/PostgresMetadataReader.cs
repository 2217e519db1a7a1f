using System.Data.Common;
using System.Globalization;
using AtProxy.Images;
using AtProxy.Protocol;

namespace AtProxy.Metadata;

/// <summary>Reads a table's columns, types and primary key from PostgreSQL's catalog in one round trip.</summary>
internal static class PostgresMetadataReader
{
    // to_regclass resolves an unqualified name through the search path exactly as the statement will.
    // Type names come from AtProxy's type-name function: schema-qualified whatever the session's
    // search_path, so rollback's casts name the same types in any session.
    private const string Query = """
        WITH rel AS (
            SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltype::bigint AS rowtype,
                   -- An AFTER trigger on INSERT or UPDATE (of the table or a partition) may write the row again
                   -- after RETURNING printed it. tgtype bits: 2 BEFORE, 64 INSTEAD OF, 4 INSERT, 16 UPDATE.
                   EXISTS (SELECT FROM pg_trigger t
                           WHERE (t.tgrelid = c.oid OR t.tgrelid IN (SELECT relid FROM pg_partition_tree(c.oid))) AND NOT t.tgisinternal
                             AND t.tgenabled IN ('O', 'A') AND t.tgtype & 66 = 0 AND t.tgtype & 20 <> 0) AS after_triggers,
                   -- BEFORE INSERT or UPDATE row triggers fire again on a rollback's restores and may rewrite them.
                   ARRAY(SELECT t.tgname::text FROM pg_trigger t
                         WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')
                           AND t.tgtype & 3 = 3 AND t.tgtype & 20 <> 0 ORDER BY 1) AS before_triggers
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = to_regclass(@name))
        SELECT rel.nspname, rel.relname, rel.relkind::text, rel.after_triggers, rel.rowtype, rel.before_triggers,
               a.attname, a.attnum, {0}(a.atttypid, a.atttypmod), NOT a.attnotnull,
               a.atthasdef OR a.attidentity <> '', a.attgenerated <> '', a.attidentity = 'a',
               (SELECT k.ord FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                WHERE i.indrelid = rel.oid AND i.indisprimary AND k.attnum = a.attnum)
        FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """;

    /// <summary>
    /// Reads the table named as a statement names it (<paramref name="schema"/> null: through the search
    /// path); <paramref name="functionSchema"/> is the schema of AtProxy's helper functions (the undo log's), unquoted.
    /// </summary>
    public static async Task<TableMetadata> ReadAsync(DbConnection connection, DbTransaction? transaction, string functionSchema, string? schema, string name, CancellationToken cancellationToken)
    {
        var regclass = schema is null ? PostgresIdentifier.Quote(name) : $"{PostgresIdentifier.Quote(schema)}.{PostgresIdentifier.Quote(name)}";
        var command = connection.CreateCommand();
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Transaction = transaction;
        command.CommandText = string.Format(CultureInfo.InvariantCulture, Query, $"{PostgresIdentifier.Quote(functionSchema)}.{CanonicalText.TypeNameFunction}");
        var parameter = command.CreateParameter();
        parameter.ParameterName = "name";
        parameter.Value = regclass;
        command.Parameters.Add(parameter);

        string? catalogSchema = null, catalogName = null, kind = null;
        var afterTriggers = false;
        var rowType = 0L;
        string[] beforeTriggers = [];
        var columns = new List<ColumnMetadata>();
        var keyOrder = new List<(long Order, ColumnMetadata Column)>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                catalogSchema ??= reader.GetString(0);
                catalogName ??= reader.GetString(1);
                kind ??= reader.GetString(2);
                afterTriggers = reader.GetBoolean(3);
                rowType = reader.GetInt64(4);
                beforeTriggers = reader.GetFieldValue<string[]>(5);
                var column = new ColumnMetadata(
                    Name: reader.GetString(6),
                    Ordinal: reader.GetInt16(7),
                    DataType: reader.GetString(8),
                    IsNullable: reader.GetBoolean(9),
                    HasDefault: reader.GetBoolean(10),
                    IsGenerated: reader.GetBoolean(11),
                    IsIdentityAlways: reader.GetBoolean(12));
                columns.Add(column);
                if (!reader.IsDBNull(13))
                {
                    keyOrder.Add((reader.GetInt64(13), column));
                }
            }
        }
        if (catalogName is null)
        {
            throw new AtProxyException($"Table {regclass} does not exist (or is not on the connection's search path).");
        }
        var primaryKey = keyOrder.OrderBy(k => k.Order).Select(k => k.Column).ToArray();
        // 'r' and 'p' are tables (plain and partitioned); views, foreign and materialized tables are not undoable here.
        return new TableMetadata(catalogSchema!, catalogName, columns, primaryKey, IsView: kind is not ("r" or "p"), RewrittenAfterWrite: afterTriggers, RowType: rowType)
        {
            BeforeWriteTriggers = beforeTriggers,
        };
    }
}
