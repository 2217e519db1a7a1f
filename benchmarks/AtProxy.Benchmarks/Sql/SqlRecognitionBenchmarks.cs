using AtProxy.Sql;
using BenchmarkDotNet.Attributes;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Benchmarks.Sql;

/// <summary>
/// What recognizing a command costs: ScriptDom's own parse of the text (the floor the design
/// starts from), a full recognition (pre-scan, tokens, masking, parse, model), and a cache hit.
/// dotnet run -c Release --project benchmarks/AtProxy.Benchmarks -- --filter '*Recogni*' --job short
/// </summary>
[MemoryDiagnoser]
public class SqlRecognitionBenchmarks
{
    // ExecuteUpdate, as Npgsql's EF Core provider writes it.
    private const string Small = """
        UPDATE "Blogs" AS b
        SET "Rating" = b."Rating" + 1
        WHERE b."Id" = @__id_0
        """;

    // A SaveChanges batch: inserts with RETURNING, updates, a delete and an upsert.
    private const string Large = """
        INSERT INTO "Blogs" ("CreatedOn", "IsDeleted", "Name", "Rating", "Url")
        VALUES (@p0, @p1, @p2, @p3, @p4)
        RETURNING "Id";
        INSERT INTO "Posts" ("BlogId", "Content", "PublishedOn", "Title")
        VALUES (@p5, @p6, @p7, @p8)
        RETURNING "Id", "Views";
        UPDATE "Blogs" SET "Name" = @p9, "Rating" = @p10, "Url" = @p11
        WHERE "Id" = @p12;
        UPDATE "Posts" SET "Title" = @p13
        WHERE "Id" = @p14 AND xmin = @p15
        RETURNING xmin;
        DELETE FROM "PostTags"
        WHERE "PostId" = @p16 AND "TagName" = @p17;
        UPDATE "Posts" AS p
        SET "Views" = p."Views" + 1
        FROM "Blogs" AS b
        WHERE p."BlogId" = b."Id" AND b."Rating" > @p18::integer;
        INSERT INTO "PostTags" ("PostId", "TagName", "AddedOn")
        VALUES (@p19, @p20, @p21), (@p22, @p23, @p24)
        ON CONFLICT ("PostId", "TagName") DO UPDATE SET "AddedOn" = EXCLUDED."AddedOn";
        DELETE FROM "Posts" AS p
        WHERE p."BlogId" = ANY (@p25) AND p."PublishedOn" < now() - interval '30 days'
        """;

    private readonly SqlRecognizer _recognizer = new();
    private readonly TSql160Parser _parser = new(initialQuotedIdentifiers: true);
    private string _text = "";

    /// <summary>Which command: the small ExecuteUpdate or the large SaveChanges batch.</summary>
    [Params("small", "large")]
    public string Statement { get; set; } = "small";

    [GlobalSetup]
    public void Setup()
    {
        _text = Statement == "small" ? Small : Large;
        _recognizer.Recognize(_text); // warm the cache for the cached benchmark
    }

    /// <summary>ScriptDom parsing the raw text (its errors on PostgreSQL syntax included).</summary>
    [Benchmark(Baseline = true)]
    public int ScriptDomParse()
    {
        _parser.Parse(new StringReader(_text), out var errors);
        return errors.Count;
    }

    /// <summary>Full recognition, no cache.</summary>
    [Benchmark]
    public object RecognizeUncached() => SqlRecognizer.RecognizeUncached(_text);

    /// <summary>A cache hit.</summary>
    [Benchmark]
    public object RecognizeCached() => _recognizer.Recognize(_text);
}
