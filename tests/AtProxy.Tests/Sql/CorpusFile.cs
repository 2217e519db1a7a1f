using System.Text;

namespace AtProxy.Tests.Sql;

/// <summary>
/// Reads the corpus files under <c>Sql/Corpus</c>. Format, one case after another:
/// <code>
/// === case-name
/// SQL, any number of lines
/// --- params        (optional: name = value per line; default value "1")
/// --- refused       (optional: the message the metadata check must raise)
/// --- expect
/// the rendered model (see <see cref="ModelDump"/>)
/// </code>
/// Lines starting with '#' before the first case are comments.
/// </summary>
public static class CorpusFile
{
    /// <summary>The corpus directory in the source tree (found upwards from the test binaries).</summary>
    public static string Directory { get; } = FindDirectory();

    private static string FindDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "AtProxy.Tests", "Sql", "Corpus");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/AtProxy.Tests/Sql/Corpus was not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every case as (file, name), for xunit theories.</summary>
    public static TheoryData<string, string> CaseIds()
    {
        var data = new TheoryData<string, string>();
        foreach (var corpusCase in All())
        {
            data.Add(corpusCase.File, corpusCase.Name);
        }
        return data;
    }

    /// <summary>One case by file and name.</summary>
    public static CorpusCase Get(string file, string name) => Load(file).Single(c => c.Name == name);

    public static IReadOnlyList<CorpusCase> Load(string fileName)
    {
        var path = Path.Combine(Directory, fileName);
        var lines = File.ReadAllLines(path);
        var cases = new List<CorpusCase>();
        string? name = null;
        string section = "";
        var sql = new StringBuilder();
        var expected = new StringBuilder();
        var refused = new StringBuilder();
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);

        void Flush()
        {
            if (name is null)
            {
                return;
            }
            cases.Add(new CorpusCase(fileName, name, sql.ToString().TrimEnd('\n'), new Dictionary<string, string>(parameters),
                refused.Length == 0 ? null : refused.ToString().TrimEnd('\n'), expected.ToString().TrimEnd('\n')));
            sql.Clear();
            expected.Clear();
            refused.Clear();
            parameters.Clear();
        }

        foreach (var line in lines)
        {
            if (line.StartsWith("=== ", StringComparison.Ordinal))
            {
                Flush();
                name = line[4..].Trim();
                section = "sql";
                continue;
            }
            if (name is null)
            {
                continue; // file header
            }
            if (line is "--- params" or "--- refused" or "--- expect")
            {
                section = line[4..];
                continue;
            }
            switch (section)
            {
                case "sql":
                    sql.Append(line).Append('\n');
                    break;
                case "params" when line.Trim().Length > 0:
                    var eq = line.IndexOf(" = ", StringComparison.Ordinal);
                    parameters[line[..eq].Trim()] = line[(eq + 3)..];
                    break;
                case "refused":
                    refused.Append(line).Append('\n');
                    break;
                case "expect":
                    expected.Append(line).Append('\n');
                    break;
            }
        }
        Flush();
        return cases;
    }

    public static IEnumerable<string> Files() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.corpus").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static IEnumerable<CorpusCase> All() => Files().SelectMany(Load);
}
