using AtProxy.Sql;

namespace AtProxy.Tests.Sql;

/// <summary>Every corpus command is recognized into exactly its expected model (no server needed).</summary>
public class SqlCorpusTests
{
    public static TheoryData<string, string> Cases => CorpusFile.CaseIds();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Recognize_corpus_case_gives_expected_model(string file, string name)
    {
        var corpusCase = CorpusFile.Get(file, name);
        var actual = ModelDump.Render(SqlRecognizer.RecognizeUncached(corpusCase.Sql));
        if (actual != corpusCase.Expected)
        {
            // Kept next to the test binaries so a reviewer can diff the whole model at once.
            var dump = Path.Combine(AppContext.BaseDirectory, "corpus-actual");
            Directory.CreateDirectory(dump);
            File.WriteAllText(Path.Combine(dump, file + "." + name + ".txt"), actual);
        }
        Assert.Equal(corpusCase.Expected, actual);
    }

    [Fact]
    public void Corpus_has_at_least_200_statements_with_unique_case_names()
    {
        var cases = CorpusFile.All().ToList();
        Assert.Equal(cases.Count, cases.Select(c => c.ToString()).Distinct().Count());
        var statements = cases.Sum(c => SqlRecognizer.RecognizeUncached(c.Sql).Statements.Count);
        Assert.True(statements >= 200, $"the corpus has {statements} statements");
    }
}
