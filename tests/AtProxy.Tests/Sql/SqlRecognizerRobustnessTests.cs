using AtProxy.Sql;

namespace AtProxy.Tests.Sql;

/// <summary>
/// Recognition never throws on what an application might send: every prefix of every corpus
/// command (statements cut anywhere: inside strings, comments, clauses) gives a model or a refusal.
/// </summary>
public class SqlRecognizerRobustnessTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in CorpusFile.Files())
        {
            data.Add(file);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Recognize_every_prefix_of_the_corpus_gives_a_model_or_a_refusal(string file)
    {
        foreach (var corpusCase in CorpusFile.Load(file))
        {
            var sql = corpusCase.Sql;
            for (var length = 0; length <= sql.Length; length++)
            {
                var prefix = sql[..length];
                var command = Record.Exception(() => SqlRecognizer.RecognizeUncached(prefix));
                Assert.True(command is null, $"{corpusCase} cut at {length}: {command}");
            }
        }
    }

    [Theory]
    [InlineData("UPDATE")]
    [InlineData("UPDATE t")]
    [InlineData("UPDATE t SET")]
    [InlineData("UPDATE t AS")]
    [InlineData("DELETE FROM")]
    [InlineData("DELETE FROM t USING")]
    [InlineData("INSERT INTO t (")]
    [InlineData("INSERT INTO t VALUES (1, ")]
    [InlineData("INSERT INTO t VALUES (1) ON CONFLICT (")]
    [InlineData("INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET")]
    [InlineData("SELECT * FROM t FOR UPDATE OF")]
    [InlineData("UPDATE t SET a = $")]
    [InlineData("UPDATE t SET a = E'unterminated")]
    [InlineData("UPDATE t SET a = 1 /* unterminated")]
    [InlineData("UPDATE t SET a = ((1) WHERE b = 2")]
    [InlineData("UPDATE t SET a = 1) WHERE b = 2")]
    [InlineData("UPDATE t SET a[1 = 2")]
    public void Recognize_broken_dml_is_refused_not_thrown(string sql)
    {
        var statement = Assert.Single(SqlRecognizer.RecognizeUncached(sql).Statements);
        Assert.NotNull(statement.Unsupported);
        Assert.Throws<AtProxyNotSupportedException>(statement.EnsureSupported);
    }

    // Value expressions are the user's text, never rebuilt; PostgreSQL judges their syntax when
    // the statement runs (and fails it, with nothing logged), as it would without the proxy.
    [Theory]
    [InlineData("UPDATE t SET a = : WHERE b = 1", ":")]
    [InlineData("UPDATE t SET a = 1:: WHERE b = 1", "1::")]
    [InlineData("UPDATE t SET a = $x$unterminated WHERE b = 1", "$x$unterminated")]
    public void Recognize_broken_value_expression_keeps_the_users_text_for_the_server_to_judge(string sql, string value)
    {
        var statement = Assert.Single(SqlRecognizer.RecognizeUncached(sql).Statements);
        Assert.Null(statement.Unsupported);
        Assert.Equal(value, Assert.Single(statement.Set).Value.Text);
        Assert.Equal("b = 1", statement.Where!.Text);
    }
}
