using AtProxy.Sql.Dialects;

namespace AtProxy.Tests.Sql;

public class LockKeyFormatterTests
{
    [Fact]
    public void Format_composite_key_joins_with_commas_and_escapes_commas_and_backslashes() =>
        Assert.Equal(@"a\,b,c\\d,7", LockKeyFormatter.Format(["a,b", @"c\d", "7"]));

    [Fact]
    public void Format_single_key_escapes_the_same_way() =>
        Assert.Equal(@"x\,y", LockKeyFormatter.Format(["x,y"]));

    [Theory]
    [InlineData(new[] { "a" }, "a")]
    [InlineData(new[] { "1", "2" }, "1,2")]
    [InlineData(new[] { "a,b", "c\\d" }, "a\\,b,c\\\\d")]
    [InlineData(new[] { "12.50", "2024-01-02 03:04:05+00" }, "12.50,2024-01-02 03:04:05+00")]
    public void Format_keeps_the_database_text_of_each_value(string[] values, string expected) =>
        Assert.Equal(expected, LockKeyFormatter.Format(values));

    [Fact]
    public void Format_keeps_composite_keys_apart_that_plain_joining_would_merge() =>
        Assert.NotEqual(LockKeyFormatter.Format(["a,b", "c"]), LockKeyFormatter.Format(["a", "b,c"]));
}
