using AtProxy.Metadata;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;

namespace AtProxy.Tests.Sql;

public class SqlRecognizerTests
{
    public static TheoryData<string, string> Cases => CorpusFile.CaseIds();

    // Offsets are the contract with generated SQL: every span must cut exactly its own text
    // out of the original command, inside its statement.
    [Theory]
    [MemberData(nameof(Cases))]
    public void Recognize_every_span_points_into_the_original_text(string file, string name)
    {
        var sql = CorpusFile.Get(file, name).Sql;
        var command = SqlRecognizer.RecognizeUncached(sql);
        foreach (var statement in command.Statements)
        {
            Assert.Equal(statement.Text, statement.Span.Of(sql));
            Assert.Equal(statement.Text.Trim(), statement.Text);
            var expressions = new List<SqlExpression?> { statement.Where, statement.Returning, statement.FromList, statement.OrderBy, statement.Limit };
            expressions.AddRange(statement.Set.Select(s => s.Value));
            expressions.AddRange(statement.ValuesRows.SelectMany(r => r));
            if (statement.OnConflict is { } conflict)
            {
                expressions.AddRange([conflict.Where, conflict.TargetWhere, .. conflict.Set.Select(s => s.Value)]);
            }
            foreach (var expression in expressions.OfType<SqlExpression>())
            {
                Assert.Equal(expression.Text, expression.Span.Of(sql));
                Assert.True(statement.Span.Contains(expression.Span), $"{expression.Span} is outside {statement.Span}");
                Assert.Equal(expression.Text.Trim(), expression.Text);
            }
            foreach (var parameter in statement.Parameters)
            {
                Assert.Equal(parameter.ToString(), parameter.Span.Of(sql));
            }
            foreach (var mask in statement.Masks)
            {
                Assert.True(statement.Span.Contains(mask.Span), $"{mask} is outside {statement.Span}");
            }
            if (statement.Target is { } target)
            {
                Assert.True(statement.Span.Contains(target.Span));
            }
        }
    }

    [Fact]
    public void Recognize_crlf_text_reports_lines_and_columns_of_the_original()
    {
        var sql = "UPDATE kv SET v = 'a'\r\nWHERE k = '1';\r\n  DELETE FROM kv\r\n  WHERE k = '2'";
        var command = SqlRecognizer.RecognizeUncached(sql);
        Assert.Equal([(1, 1), (3, 3)], command.Statements.Select(s => (s.Line, s.Column)));
        Assert.Equal("k = '1'", command.Statements[0].Where!.Text);
        Assert.Equal("DELETE FROM kv\r\n  WHERE k = '2'", command.Statements[1].Text);
    }

    [Fact]
    public void EnsureSupported_raises_the_refusal_with_its_position()
    {
        var command = SqlRecognizer.RecognizeUncached("UPDATE kv SET v = 'a' WHERE k = '1';\nTRUNCATE kv");
        Assert.True(command.NeedsProxy);
        Assert.Same(command.Statements[1], command.FirstUnsupported);
        var error = Assert.Throws<AtProxyNotSupportedException>(command.EnsureSupported);
        Assert.Equal("TRUNCATE is not supported inside a global transaction (line 2, column 1).", error.Message);
    }

    [Fact]
    public void Recognize_text_the_lexer_cannot_read_is_refused_but_passes_through()
    {
        var command = SqlRecognizer.RecognizeUncached("UPDATE kv SET v = 'unterminated WHERE k = 1");
        var statement = Assert.Single(command.Statements);
        Assert.Equal(DmlKind.PassThrough, statement.Kind);
        Assert.StartsWith("SQL the proxy cannot read is not supported inside a global transaction", statement.Unsupported!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Recognize_read_only_batch_needs_no_proxy()
    {
        var command = SqlRecognizer.RecognizeUncached("SELECT 1; SHOW search_path; SET x.y = 1");
        Assert.False(command.NeedsProxy);
        Assert.Null(command.FirstUnsupported);
        Assert.All(command.Statements, s => Assert.Equal(DmlKind.PassThrough, s.Kind));
    }

    [Fact]
    public void Recognize_parameters_in_where_are_found_by_span()
    {
        var statement = SqlRecognizer.RecognizeUncached("UPDATE t SET a = @a, b = $9 WHERE id = @id AND v = :v").Statements[0];
        Assert.Equal(["@id", ":v"], statement.ParametersIn(statement.Where!.Span).Select(p => p.ToString()));
        Assert.Equal([("a", 0), ("$9", 9), ("id", 0), ("v", 0)], statement.Parameters.Select(p => (p.Name, p.Position)));
    }

    [Fact]
    public void EnsureSupported_with_metadata_refuses_a_view_by_name()
    {
        var view = new TableMetadata("public", "vip_customers", [new ColumnMetadata("id", 1, "integer", false, false)], [], IsView: true);
        var statement = SqlRecognizer.RecognizeUncached("DELETE FROM vip_customers WHERE id = 1").Statements[0];
        var error = Assert.Throws<AtProxyNotSupportedException>(() => TestDialect.Public.EnsureSupported(statement, view));
        Assert.Equal("DELETE on a view (public.vip_customers) is not supported inside a global transaction (line 1, column 13): write to its base table instead.", error.Message);
    }

    [Fact]
    public void EnsureSupported_lets_pass_through_statements_by()
    {
        var statement = SqlRecognizer.RecognizeUncached("SELECT * FROM no_pk").Statements[0];
        var table = new TableMetadata("public", "no_pk", [new ColumnMetadata("a", 1, "integer", true, false)], []);
        TestDialect.Public.EnsureSupported(statement, table); // a read of a keyless table is fine
        Assert.Equal(DmlKind.PassThrough, statement.Kind);
    }
}
