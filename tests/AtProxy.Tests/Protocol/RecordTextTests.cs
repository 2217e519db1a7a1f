using AtProxy.Protocol.Undo;

namespace AtProxy.Tests.Protocol;

/// <summary>Record texts as PostgreSQL's record_out prints them, split back into field texts.</summary>
public class RecordTextTests
{
    [Theory]
    [InlineData("(1,abc)", new[] { "1", "abc" })]
    [InlineData("(\"a \"\"b\"\", c\",\"\")", new[] { "a \"b\", c", "" })]
    [InlineData("(\"x\\\\y\",\"(1,2)\")", new[] { "x\\y", "(1,2)" })]
    [InlineData("(\"{\"\"2026-01-01 00:00:00+00\"\"}\",t)", new[] { "{\"2026-01-01 00:00:00+00\"}", "t" })]
    public void Split_reads_quoted_and_plain_fields(string text, string[] expected) =>
        Assert.Equal(expected, RecordText.Split(text, expected.Length));

    [Fact]
    public void Split_tells_null_from_the_empty_string()
    {
        Assert.Equal(new string?[] { null, "", null }, RecordText.Split("(,\"\",)", 3).AsEnumerable());
        Assert.Equal(new string?[] { null }, RecordText.Split("()", 1).AsEnumerable());
    }

    [Theory]
    [InlineData("1,2")]
    [InlineData("(\"open)")]
    public void Split_refuses_what_is_not_a_record(string text) =>
        Assert.Throws<FormatException>(() => RecordText.Split(text, 2));

    [Fact]
    public void Split_refuses_a_record_of_another_width()
    {
        var error = Assert.Throws<FormatException>(() => RecordText.Split("(1,2,3)", 2));
        Assert.Contains("3 values where 2 were expected", error.Message, StringComparison.Ordinal);
    }
}
