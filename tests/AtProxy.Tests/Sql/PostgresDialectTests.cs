using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Tests.Sql;

/// <summary>The exact SQL the dialect generates (the corpus runs it on a server; these pin its shape).</summary>
public class PostgresDialectTests
{
    private static readonly PostgresDialect Dialect = TestDialect.Public;

    private static readonly TableMetadata Blogs = Table("public", "Blogs", ["Id"],
        ("Id", "integer", false), ("Name", "text", false), ("Rating", "integer", false));

    private static readonly TableMetadata OrderLines = Table("public", "order_lines", ["order_id", "line_no"],
        ("order_id", "bigint", false), ("line_no", "integer", false), ("qty", "integer", false), ("price", "numeric(10,2)", false));

    private static readonly TableMetadata Accounts = new("public", "accounts",
        [
            new ColumnMetadata("id", 1, "integer", false, true, IsIdentityAlways: true),
            new ColumnMetadata("owner", 2, "text", false, false),
            new ColumnMetadata("balance", 3, "numeric", false, false),
            new ColumnMetadata("balance_cents", 4, "bigint", true, true, IsGenerated: true),
        ],
        [new ColumnMetadata("id", 1, "integer", false, true, IsIdentityAlways: true)]);

    private static DmlStatement One(string sql) => SqlRecognizer.RecognizeUncached(sql).Statements.Single();

    internal static UndoRow Row(params string?[] values)
    {
        var row = new UndoRow();
        row.Values.AddRange(values.Select(RowImage.Value));
        return row;
    }

    [Fact]
    public void BuildBeforeImage_aliased_update_selects_the_row_image_with_the_statement_where()
    {
        var statement = One("UPDATE \"Blogs\" AS b SET \"Rating\" = b.\"Rating\" + 1 WHERE b.\"Id\" = @__id_0");
        var sql = Dialect.BuildBeforeImage(statement, Blogs)!;
        Assert.Equal("SELECT \"public\".atproxy_image_v1(\"b\".*) FROM \"public\".\"Blogs\" AS \"b\" WHERE b.\"Id\" = @__id_0 FOR UPDATE", sql.Text);
        Assert.True(sql.BindsUserParameters);
        Assert.Empty(sql.Parameters);
    }

    [Fact]
    public void BuildBeforeImage_update_from_locks_only_the_target()
    {
        var statement = One("UPDATE order_lines ol SET price = p.price FROM products p WHERE p.sku = ol.sku");
        var sql = Dialect.BuildBeforeImage(statement, OrderLines)!;
        Assert.Equal("SELECT \"public\".atproxy_image_v1(\"ol\".*) FROM \"public\".\"order_lines\" AS \"ol\", products p WHERE p.sku = ol.sku FOR UPDATE OF \"ol\"", sql.Text);
        Assert.False(sql.BindsUserParameters);
    }

    [Fact]
    public void BuildBeforeImage_delete_without_where_locks_the_whole_table()
    {
        var sql = Dialect.BuildBeforeImage(One("DELETE FROM \"Blogs\""), Blogs)!;
        Assert.Equal("SELECT \"public\".atproxy_image_v1(\"Blogs\".*) FROM \"public\".\"Blogs\" FOR UPDATE", sql.Text);
    }

    [Fact]
    public void BuildBeforeImage_only_keeps_rows_of_inheriting_tables_out()
    {
        var sql = Dialect.BuildBeforeImage(One("UPDATE ONLY \"Blogs\" SET \"Rating\" = 0"), Blogs)!;
        Assert.Equal("SELECT \"public\".atproxy_image_v1(\"Blogs\".*) FROM ONLY \"public\".\"Blogs\" FOR UPDATE", sql.Text);
    }

    [Fact]
    public void BuildBeforeImage_upsert_selects_the_rows_its_values_collide_with()
    {
        var statement = One("INSERT INTO order_lines (order_id, line_no, qty, price) VALUES (@o, @l, 1, 2), (3, 4, 5, 6) ON CONFLICT (order_id, line_no) DO UPDATE SET qty = EXCLUDED.qty");
        var sql = Dialect.BuildBeforeImage(statement, OrderLines)!;
        Assert.Equal("SELECT \"public\".atproxy_image_v1(\"order_lines\".*) FROM \"public\".\"order_lines\" WHERE (\"order_lines\".\"order_id\", \"order_lines\".\"line_no\") IN ((@o, @l), (3, 4)) FOR UPDATE", sql.Text);
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
    public void BuildConstraintColumns_binds_the_table_and_constraint_names()
    {
        var sql = Dialect.BuildConstraintColumns(Blogs, "Blogs_pkey");
        Assert.Contains("to_regclass(@__atp_0) AND c.conname = @__atp_1", sql.Text, StringComparison.Ordinal);
        Assert.Equal([("__atp_0", (object?)"\"public\".\"Blogs\""), ("__atp_1", "Blogs_pkey")], sql.Parameters.Select(p => (p.Name, p.Value)));
    }

    [Fact]
    public void BuildLockedKeys_keeps_order_limit_and_lock_clauses_and_reads_key_images()
    {
        var statement = One("SELECT id FROM orders o WHERE o.status = $1 ORDER BY created_at LIMIT 1 FOR UPDATE OF o SKIP LOCKED");
        var orders = Table("public", "orders", ["id"], ("id", "bigint", false), ("status", "text", false));
        var sql = Dialect.BuildLockedKeys(statement, orders);
        Assert.Equal("SELECT \"public\".atproxy_image_v1(ROW(\"o\".\"id\")), pg_typeof(\"o\".*)::oid::bigint AS \"__atp_rowtype\" FROM orders o WHERE o.status = $1 ORDER BY created_at LIMIT 1 FOR UPDATE OF o SKIP LOCKED", sql.Text);
        Assert.True(sql.BindsUserParameters);
    }

    [Fact]
    public void BuildImageReturning_appends_the_row_image_after_the_users_returning()
    {
        var withReturning = Dialect.BuildImageReturning(One("INSERT INTO \"Blogs\" (\"Name\") VALUES (@p0) RETURNING \"Id\", \"Rating\";"), Blogs);
        Assert.Equal("INSERT INTO \"Blogs\" (\"Name\") VALUES (@p0) RETURNING \"Id\", \"Rating\", \"public\".atproxy_image_v1(\"Blogs\".*) AS \"__atp_image\", pg_typeof(\"Blogs\".*)::oid::bigint AS \"__atp_rowtype\"", withReturning.Text);
        Assert.True(withReturning.HadReturning);
        Assert.True(withReturning.ReturnsRows);
        Assert.Equal(3, withReturning.ImageColumnCount);
        Assert.Equal(2, withReturning.HiddenColumnCount);

        var update = Dialect.BuildImageReturning(One("UPDATE \"Blogs\" AS b SET \"Rating\" = 1 FROM tags t WHERE t.blog = b.\"Id\""), Blogs);
        Assert.EndsWith("\nRETURNING \"public\".atproxy_image_v1(\"b\".*) AS \"__atp_image\", pg_typeof(\"b\".*)::oid::bigint AS \"__atp_rowtype\"", update.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildImageReturning_of_a_delete_returns_only_the_key()
    {
        var without = Dialect.BuildImageReturning(One("DELETE FROM order_lines l USING orders o WHERE l.order_id = o.id -- gone"), OrderLines);
        Assert.Equal("DELETE FROM order_lines l USING orders o WHERE l.order_id = o.id\nRETURNING \"public\".atproxy_image_v1(ROW(\"l\".\"order_id\", \"l\".\"line_no\")) AS \"__atp_image\", pg_typeof(\"l\".*)::oid::bigint AS \"__atp_rowtype\"", without.Text);
        Assert.False(without.HadReturning);
        Assert.False(without.ReturnsRows);
        Assert.Equal(2, without.ImageColumnCount);
        Assert.False(without.HasInsertedFlag);
    }

    [Fact]
    public void BuildImageReturning_upsert_that_may_update_also_returns_whether_each_row_was_inserted()
    {
        var upsert = Dialect.BuildImageReturning(One("INSERT INTO \"Blogs\" (\"Id\", \"Name\") VALUES (@id, @name) ON CONFLICT (\"Id\") DO UPDATE SET \"Name\" = EXCLUDED.\"Name\""), Blogs);
        Assert.EndsWith("AS \"__atp_image\", pg_typeof(\"Blogs\".*)::oid::bigint AS \"__atp_rowtype\", (xmax = 0) AS \"__atp_inserted\"", upsert.Text, StringComparison.Ordinal);
        Assert.True(upsert.HasInsertedFlag);
        Assert.Equal(3, upsert.HiddenColumnCount);

        var doNothing = Dialect.BuildImageReturning(One("INSERT INTO \"Blogs\" (\"Id\", \"Name\") VALUES (@id, @name) ON CONFLICT DO NOTHING"), Blogs);
        Assert.False(doNothing.HasInsertedFlag);
        Assert.Equal(2, doNothing.HiddenColumnCount);
    }

    [Fact]
    public void BuildDirtyCheck_single_key_compares_with_any_so_the_key_index_answers()
    {
        var sql = Dialect.BuildDirtyCheck(Blogs, [["1"], ["7"]]);
        Assert.Equal("SELECT \"public\".atproxy_image_v1(ROW(\"Blogs\".\"Id\", \"Blogs\".\"Name\", \"Blogs\".\"Rating\")) FROM \"public\".\"Blogs\" WHERE \"Id\" = ANY (CAST(@__atp_0 AS integer[])) FOR UPDATE", sql.Text);
        Assert.Equal(new[] { "1", "7" }, Assert.IsType<string[]>(Assert.Single(sql.Parameters).Value));
    }

    [Fact]
    public void BuildDirtyCheck_of_a_format_version_1_record_reads_each_column_as_session_text()
    {
        var sql = Dialect.BuildDirtyCheck(Blogs, [["1"]], AtProxy.Images.ImageForm.SessionText);
        Assert.Equal("SELECT \"Id\"::text, \"Name\"::text, \"Rating\"::text FROM \"public\".\"Blogs\" WHERE \"Id\" = ANY (CAST(@__atp_0 AS integer[])) FOR UPDATE", sql.Text);
    }

    [Fact]
    public void BuildDirtyCheck_composite_key_unnests_one_array_per_key_column_and_locks()
    {
        var sql = Dialect.BuildDirtyCheck(OrderLines, [["1", "1"], ["2", "3"]]);
        Assert.Equal("SELECT \"public\".atproxy_image_v1(ROW(\"order_lines\".\"order_id\", \"order_lines\".\"line_no\", \"order_lines\".\"qty\", \"order_lines\".\"price\")) FROM \"public\".\"order_lines\" WHERE (\"order_id\", \"line_no\") IN (SELECT CAST(k.k0 AS bigint), CAST(k.k1 AS integer) FROM unnest(@__atp_0, @__atp_1) AS k(k0, k1)) FOR UPDATE", sql.Text);
        Assert.Equal(new[] { "1", "2" }, Assert.IsType<string[]>(sql.Parameters[0].Value));
        Assert.Equal(new[] { "1", "3" }, Assert.IsType<string[]>(sql.Parameters[1].Value));
    }

    [Fact]
    public void BuildUpdateRow_sets_every_writable_non_key_column_back_by_key()
    {
        var undo = Dialect.BuildUpdateRow(Blogs, Row("1", "old", "3"))!;
        Assert.Equal("UPDATE \"public\".\"Blogs\" SET \"Name\" = CAST(@__atp_0 AS text), \"Rating\" = CAST(@__atp_1 AS integer) WHERE \"Id\" = CAST(@__atp_2 AS integer)", undo.Text);
        Assert.Equal([("__atp_0", (object?)"old"), ("__atp_1", "3"), ("__atp_2", "1")], undo.Parameters.Select(p => (p.Name, p.Value)));
    }

    [Fact]
    public void BuildUpdateRow_never_writes_generated_columns_and_needs_nothing_without_writable_ones()
    {
        var undo = Dialect.BuildUpdateRow(Accounts, Row("5", "ada", "10.5", "1050"))!;
        Assert.Equal("UPDATE \"public\".\"accounts\" SET \"owner\" = CAST(@__atp_0 AS text), \"balance\" = CAST(@__atp_1 AS numeric) WHERE \"id\" = CAST(@__atp_2 AS integer)", undo.Text);

        var keyOnly = Table("public", "tags", ["name"], ("name", "text", false), ("upper_name", "text", true));
        Assert.Null(Dialect.BuildUpdateRow(keyOnly, Row("a", "A")));
    }

    [Fact]
    public void BuildInsertRow_reinserts_writable_columns_overriding_identity_always()
    {
        var undo = Dialect.BuildInsertRow(Accounts, Row("5", "ada", "10.5", "1050"));
        Assert.Equal("INSERT INTO \"public\".\"accounts\" (\"id\", \"owner\", \"balance\") OVERRIDING SYSTEM VALUE VALUES (CAST(@__atp_0 AS integer), CAST(@__atp_1 AS text), CAST(@__atp_2 AS numeric))", undo.Text);
        Assert.Equal(["5", "ada", "10.5"], undo.Parameters.Select(p => p.Value));
    }

    [Fact]
    public void BuildInsertRow_without_identity_always_columns_overrides_nothing()
    {
        var undo = Dialect.BuildInsertRow(Blogs, Row("1", "x", "2"));
        Assert.Equal("INSERT INTO \"public\".\"Blogs\" (\"Id\", \"Name\", \"Rating\") VALUES (CAST(@__atp_0 AS integer), CAST(@__atp_1 AS text), CAST(@__atp_2 AS integer))", undo.Text);
    }

    [Fact]
    public void BuildDeleteRow_deletes_by_composite_key()
    {
        var undo = Dialect.BuildDeleteRow(OrderLines, Row("1", "2", "3", "4.50"));
        Assert.Equal("DELETE FROM \"public\".\"order_lines\" WHERE \"order_id\" = CAST(@__atp_0 AS bigint) AND \"line_no\" = CAST(@__atp_1 AS integer)", undo.Text);
        Assert.Equal(["1", "2"], undo.Parameters.Select(p => p.Value));
    }

    [Fact]
    public void Undo_binds_null_as_a_null_text_cast_to_the_column_type()
    {
        var parameter = Dialect.BuildUpdateRow(Blogs, Row("1", null, "3"))!.Parameters[0];
        Assert.Null(parameter.Value);
        Assert.StartsWith(GeneratedSql.ParameterPrefix, parameter.Name, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("numeric(12,3)")]
    [InlineData("character varying(50)")]
    [InlineData("timestamp(3) with time zone")]
    [InlineData("numeric(10,2)[]")]
    public void Casts_keep_the_full_format_type_with_its_modifiers(string formatType)
    {
        var table = Table("public", "t", ["k"], ("k", formatType, false), ("v", formatType, false));
        Assert.Equal($"UPDATE \"public\".\"t\" SET \"v\" = CAST(@__atp_0 AS {formatType}) WHERE \"k\" = CAST(@__atp_1 AS {formatType})",
            Dialect.BuildUpdateRow(table, Row("1", "2"))!.Text);
        var expected = formatType.EndsWith("[]", StringComparison.Ordinal) ? $"CAST(k.k0 AS {formatType})" : $"CAST(@__atp_0 AS {formatType}[])";
        Assert.Contains(expected, Dialect.BuildDirtyCheck(table, [["1"]]).Text, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildLockKeys_names_the_catalog_table_and_canonical_key_once_per_row()
    {
        var keys = Dialect.BuildLockKeys(OrderLines, [Row("1", "2", "3", "4"), Row("10", "20", "0", "0"), Row("1", "2", "5", "4")]);
        Assert.Equal([new RowLockKey("public.order_lines", "1,2"), new RowLockKey("public.order_lines", "10,20")], keys);
    }

    [Fact]
    public void KeyOf_refuses_a_row_without_a_key_value()
    {
        Assert.Equal(["1", "2"], Dialect.KeyOf(OrderLines, Row("1", "2", "3", "4")));
        Assert.Throws<ArgumentException>(() => Dialect.KeyOf(OrderLines, Row(null, "2", "3", "4")));
        Assert.Throws<ArgumentException>(() => Dialect.KeyOf(OrderLines, Row("1", "2")));
    }

    [Fact]
    public void QuoteIdentifier_doubles_embedded_quotes() =>
        Assert.Equal("\"say \"\"hi\"\"\"", Dialect.QuoteIdentifier("say \"hi\""));

    [Fact]
    public void BuildDirtyCheck_rejects_a_table_without_primary_key()
    {
        var table = Table("public", "no_pk", [], ("a", "integer", false));
        Assert.Throws<ArgumentException>(() => Dialect.BuildDirtyCheck(table, [["1"]]));
    }

    internal static TableMetadata Table(string schema, string name, string[] key, params (string Name, string Type, bool Generated)[] columns)
    {
        var list = columns.Select((c, i) => new ColumnMetadata(c.Name, i + 1, c.Type, IsNullable: true, HasDefault: c.Generated, IsGenerated: c.Generated)).ToList();
        return new TableMetadata(schema, name, list, key.Select(k => list.Single(c => c.Name == k)).ToList());
    }
}
