using AtProxy.Metadata;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;

namespace AtProxy.Tests.Sql;

/// <summary>The exact SQL the dialect generates (the corpus runs it on a server; these pin its shape).</summary>
public class PostgresDialectTests
{
    private static readonly PostgresDialect Dialect = PostgresDialect.Instance;

    private static readonly TableMetadata Blogs = Table("public", "Blogs", ["Id"],
        ("Id", "integer", false), ("Name", "text", false), ("Rating", "integer", false));

    private static readonly TableMetadata OrderLines = Table("public", "order_lines", ["order_id", "line_no"],
        ("order_id", "bigint", false), ("line_no", "integer", false), ("qty", "integer", false), ("price", "numeric(10,2)", false));

    private static readonly TableMetadata Accounts = Table("public", "accounts", ["id"],
        ("id", "integer", false), ("owner", "text", false), ("balance", "numeric", false), ("balance_cents", "bigint", true));

    private static DmlStatement One(string sql) => SqlRecognizer.RecognizeUncached(sql).Statements.Single();

    [Fact]
    public void BuildBeforeImage_aliased_update_selects_all_columns_with_the_statement_where()
    {
        var statement = One("UPDATE \"Blogs\" AS b SET \"Rating\" = b.\"Rating\" + 1 WHERE b.\"Id\" = @__id_0");
        var sql = Dialect.BuildBeforeImage(statement, Blogs)!;
        Assert.Equal("SELECT \"b\".\"Id\", \"b\".\"Name\", \"b\".\"Rating\" FROM \"public\".\"Blogs\" AS \"b\" WHERE b.\"Id\" = @__id_0 FOR UPDATE", sql.Text);
        Assert.True(sql.BindsUserParameters);
        Assert.Empty(sql.Parameters);
    }

    [Fact]
    public void BuildBeforeImage_update_from_locks_only_the_target()
    {
        var statement = One("UPDATE order_lines ol SET price = p.price FROM products p WHERE p.sku = ol.sku");
        var sql = Dialect.BuildBeforeImage(statement, OrderLines)!;
        Assert.Equal("SELECT \"ol\".\"order_id\", \"ol\".\"line_no\", \"ol\".\"qty\", \"ol\".\"price\" FROM \"public\".\"order_lines\" AS \"ol\", products p WHERE p.sku = ol.sku FOR UPDATE OF \"ol\"", sql.Text);
        Assert.False(sql.BindsUserParameters);
    }

    [Fact]
    public void BuildBeforeImage_delete_without_where_locks_the_whole_table()
    {
        var sql = Dialect.BuildBeforeImage(One("DELETE FROM \"Blogs\""), Blogs)!;
        Assert.Equal("SELECT \"Blogs\".\"Id\", \"Blogs\".\"Name\", \"Blogs\".\"Rating\" FROM \"public\".\"Blogs\" FOR UPDATE", sql.Text);
    }

    [Fact]
    public void BuildBeforeImage_only_keeps_rows_of_inheriting_tables_out()
    {
        var sql = Dialect.BuildBeforeImage(One("UPDATE ONLY \"Blogs\" SET \"Rating\" = 0"), Blogs)!;
        Assert.Equal("SELECT \"Blogs\".\"Id\", \"Blogs\".\"Name\", \"Blogs\".\"Rating\" FROM ONLY \"public\".\"Blogs\" FOR UPDATE", sql.Text);
    }

    [Fact]
    public void BuildUndo_update_leaves_rows_the_statement_did_not_write()
    {
        object?[] written = [1, "old", 3];
        object?[] writtenAfter = [1, "new", 3];
        object?[] notWritten = [2, "other", 3];
        var undo = Assert.Single(Dialect.BuildUndo(DmlKind.Update, Blogs, [written, notWritten], [writtenAfter]));
        Assert.Equal(1, undo.Parameters[^1].Value);
    }

    [Fact]
    public void BuildBeforeImage_upsert_selects_the_rows_its_values_collide_with()
    {
        var statement = One("INSERT INTO order_lines (order_id, line_no, qty, price) VALUES (@o, @l, 1, 2), (3, 4, 5, 6) ON CONFLICT (order_id, line_no) DO UPDATE SET qty = EXCLUDED.qty");
        var sql = Dialect.BuildBeforeImage(statement, OrderLines)!;
        Assert.Equal("SELECT \"order_lines\".\"order_id\", \"order_lines\".\"line_no\", \"order_lines\".\"qty\", \"order_lines\".\"price\" FROM \"public\".\"order_lines\" WHERE (\"order_lines\".\"order_id\", \"order_lines\".\"line_no\") IN ((@o, @l), (3, 4)) FOR UPDATE", sql.Text);
        Assert.True(sql.BindsUserParameters);
    }

    [Fact]
    public void BuildBeforeImage_is_null_for_insert_and_upsert_do_nothing()
    {
        Assert.Null(Dialect.BuildBeforeImage(One("INSERT INTO \"Blogs\" (\"Name\") VALUES (@p0) RETURNING \"Id\""), Blogs));
        Assert.Null(Dialect.BuildBeforeImage(One("INSERT INTO \"Blogs\" (\"Name\") VALUES (@p0) ON CONFLICT DO NOTHING"), Blogs));
    }

    [Fact]
    public void BuildBeforeImage_on_constraint_without_its_columns_is_refused()
    {
        var statement = One("INSERT INTO \"Blogs\" (\"Id\", \"Name\") VALUES (1, 'x') ON CONFLICT ON CONSTRAINT \"Blogs_pkey\" DO UPDATE SET \"Name\" = EXCLUDED.\"Name\"");
        var error = Assert.Throws<AtProxyNotSupportedException>(() => Dialect.BuildBeforeImage(statement, Blogs));
        Assert.StartsWith("ON CONFLICT ON CONSTRAINT ... DO UPDATE without the constraint's columns", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("WHERE \"Blogs\".\"Id\" IN (1) FOR UPDATE", Dialect.BuildBeforeImage(statement, Blogs, ["Id"])!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildBeforeImage_locking_select_keeps_order_limit_and_lock_clauses()
    {
        var statement = One("SELECT id FROM orders o WHERE o.status = $1 ORDER BY created_at LIMIT 1 FOR UPDATE OF o SKIP LOCKED");
        var orders = Table("public", "orders", ["id"], ("id", "bigint", false), ("status", "text", false));
        Assert.Equal("SELECT \"o\".\"id\", \"o\".\"status\" FROM orders o WHERE o.status = $1 ORDER BY created_at LIMIT 1 FOR UPDATE OF o SKIP LOCKED",
            Dialect.BuildBeforeImage(statement, orders)!.Text);
    }

    [Fact]
    public void BuildKeyReturning_appends_hidden_key_columns_after_the_users_returning()
    {
        var withReturning = Dialect.BuildKeyReturning(One("INSERT INTO \"Blogs\" (\"Name\") VALUES (@p0) RETURNING \"Id\", \"Rating\";"), Blogs);
        Assert.Equal("INSERT INTO \"Blogs\" (\"Name\") VALUES (@p0) RETURNING \"Id\", \"Rating\", \"Blogs\".\"Id\" AS \"__atp_k0\"", withReturning.Text);
        Assert.True(withReturning.HadReturning);
        Assert.Equal(1, withReturning.KeyColumnCount);

        var without = Dialect.BuildKeyReturning(One("DELETE FROM order_lines l USING orders o WHERE l.order_id = o.id -- gone"), OrderLines);
        Assert.Equal("DELETE FROM order_lines l USING orders o WHERE l.order_id = o.id RETURNING \"l\".\"order_id\" AS \"__atp_k0\", \"l\".\"line_no\" AS \"__atp_k1\"", without.Text);
        Assert.False(without.HadReturning);
        Assert.Equal(2, without.KeyColumnCount);
    }

    [Fact]
    public void BuildAfterImage_single_key_binds_one_typed_array()
    {
        var sql = Dialect.BuildAfterImage(Blogs, [[1], [7]]);
        Assert.Equal("SELECT \"Id\", \"Name\", \"Rating\" FROM \"public\".\"Blogs\" WHERE \"Id\" = ANY(@__atp_0)", sql.Text);
        var parameter = Assert.Single(sql.Parameters);
        Assert.Equal("__atp_0", parameter.Name);
        Assert.Equal("integer[]", parameter.DataTypeName);
        Assert.Equal(new[] { 1, 7 }, Assert.IsType<int[]>(parameter.Value));
    }

    [Fact]
    public void BuildDirtyCheck_composite_key_unnests_one_array_per_key_column_and_locks()
    {
        var sql = Dialect.BuildDirtyCheck(OrderLines, [[1L, 1], [2L, 3]]);
        Assert.Equal("SELECT \"order_id\", \"line_no\", \"qty\", \"price\" FROM \"public\".\"order_lines\" WHERE (\"order_id\", \"line_no\") IN (SELECT * FROM unnest(@__atp_0, @__atp_1)) FOR UPDATE", sql.Text);
        Assert.Equal(["bigint[]", "integer[]"], sql.Parameters.Select(p => p.DataTypeName));
        Assert.Equal(new[] { 1L, 2L }, Assert.IsType<long[]>(sql.Parameters[0].Value));
    }

    [Fact]
    public void BuildUndo_update_sets_back_only_changed_columns_by_key()
    {
        object?[] before = [1, "old", 3];
        object?[] after = [1, "new", 3];
        var undo = Assert.Single(Dialect.BuildUndo(DmlKind.Update, Blogs, [before], [after]));
        Assert.Equal("UPDATE \"public\".\"Blogs\" SET \"Name\" = @__atp_0 WHERE \"Id\" = @__atp_1", undo.Text);
        Assert.Equal([("__atp_0", (object?)"old", "text"), ("__atp_1", 1, "integer")], undo.Parameters.Select(p => (p.Name, p.Value, p.DataTypeName)));
    }

    [Fact]
    public void BuildUndo_update_of_an_unchanged_row_needs_nothing()
    {
        object?[] row = [1, "same", 3];
        Assert.Empty(Dialect.BuildUndo(DmlKind.Update, Blogs, [row], [row]));
    }

    [Fact]
    public void BuildUndo_delete_reinserts_writable_columns_overriding_identity()
    {
        object?[] before = [5, "ada", 10.5m, 1050L];
        var undo = Assert.Single(Dialect.BuildUndo(DmlKind.Delete, Accounts, [before], []));
        Assert.Equal("INSERT INTO \"public\".\"accounts\" (\"id\", \"owner\", \"balance\") OVERRIDING SYSTEM VALUE VALUES (@__atp_0, @__atp_1, @__atp_2)", undo.Text);
        Assert.Equal(["integer", "text", "numeric"], undo.Parameters.Select(p => p.DataTypeName));
    }

    [Fact]
    public void BuildUndo_insert_deletes_each_row_by_composite_key()
    {
        object?[] after = [1L, 2, 3, 4.5m];
        var undo = Assert.Single(Dialect.BuildUndo(DmlKind.Insert, OrderLines, [], [after]));
        Assert.Equal("DELETE FROM \"public\".\"order_lines\" WHERE \"order_id\" = @__atp_0 AND \"line_no\" = @__atp_1", undo.Text);
        Assert.Equal(["bigint", "integer"], undo.Parameters.Select(p => p.DataTypeName));
    }

    [Fact]
    public void BuildUndo_upsert_updates_back_existing_rows_and_deletes_inserted_ones()
    {
        object?[] existingBefore = [1, "old", 0];
        object?[] existingAfter = [1, "new", 0];
        object?[] inserted = [9, "fresh", 0];
        var undo = Dialect.BuildUndo(DmlKind.Upsert, Blogs, [existingBefore], [existingAfter, inserted]);
        Assert.Equal(
            ["UPDATE \"public\".\"Blogs\" SET \"Name\" = @__atp_0 WHERE \"Id\" = @__atp_1", "DELETE FROM \"public\".\"Blogs\" WHERE \"Id\" = @__atp_0"],
            undo.Select(u => u.Text));
    }

    [Fact]
    public void BuildUndo_binds_null_as_a_typed_null()
    {
        object?[] before = [1, null, 3];
        object?[] after = [1, "set", 3];
        var parameter = Dialect.BuildUndo(DmlKind.Update, Blogs, [before], [after])[0].Parameters[0];
        Assert.Null(parameter.Value);
        Assert.Equal("text", parameter.DataTypeName);
    }

    [Fact]
    public void BuildLockKeys_names_the_catalog_table_and_canonical_key()
    {
        var keys = Dialect.BuildLockKeys(OrderLines, [[1L, 2, 3, 4m], [10L, 20, 0, 0m]]);
        Assert.Equal([new RowLockKey("public.order_lines", "1,2"), new RowLockKey("public.order_lines", "10,20")], keys);
    }

    [Theory]
    [InlineData("integer", "integer")]
    [InlineData("numeric(12,2)", "numeric")]
    [InlineData("character varying(50)", "character varying")]
    [InlineData("timestamp(3) with time zone", "timestamp with time zone")]
    [InlineData("text[]", "text[]")]
    [InlineData("numeric(10,2)[]", "numeric[]")]
    public void BindTypeName_drops_type_modifiers(string formatType, string expected) =>
        Assert.Equal(expected, PostgresDialect.BindTypeName(new ColumnMetadata("c", 1, formatType, true, false)));

    [Fact]
    public void QuoteIdentifier_doubles_embedded_quotes() =>
        Assert.Equal("\"say \"\"hi\"\"\"", Dialect.QuoteIdentifier("say \"hi\""));

    [Fact]
    public void BuildAfterImage_rejects_a_table_without_primary_key()
    {
        var table = Table("public", "no_pk", [], ("a", "integer", false));
        Assert.Throws<ArgumentException>(() => Dialect.BuildAfterImage(table, [[1]]));
    }

    internal static TableMetadata Table(string schema, string name, string[] key, params (string Name, string Type, bool Generated)[] columns)
    {
        var list = columns.Select((c, i) => new ColumnMetadata(c.Name, i + 1, c.Type, IsNullable: true, HasDefault: c.Generated, IsGenerated: c.Generated)).ToList();
        return new TableMetadata(schema, name, list, key.Select(k => list.Single(c => c.Name == k)).ToList());
    }
}
