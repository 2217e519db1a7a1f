using System.Globalization;
using AtProxy.Sql.Dialects;

namespace AtProxy.Tests.Sql;

public class LockKeyFormatterTests
{
    [Fact]
    public void Format_composite_key_joins_with_commas_and_escapes_commas_and_backslashes() =>
        Assert.Equal(@"a\,b,c\\d,7", LockKeyFormatter.Format(["a,b", @"c\d", 7]));

    [Fact]
    public void Format_single_key_escapes_the_same_way() =>
        Assert.Equal(@"x\,y", LockKeyFormatter.Format(["x,y"]));

    [Fact]
    public void Format_uses_invariant_text_whatever_the_current_culture()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Assert.Equal("12.50,1.5,1000000", LockKeyFormatter.Format([12.50m, 1.5d, 1_000_000L]));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Theory]
    [MemberData(nameof(Values))]
    public void ValueText_gives_one_stable_text_per_type(object value, string expected) =>
        Assert.Equal(expected, LockKeyFormatter.ValueText(value));

    public static TheoryData<object, string> Values => new()
    {
        { 42, "42" },
        { -7L, "-7" },
        { "Ölçü", "Ölçü" },
        { true, "true" },
        { Guid.Parse("11111111-2222-3333-4444-555555555555"), "11111111-2222-3333-4444-555555555555" },
        { new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc), "2024-01-02T03:04:05" },
        { new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(1234), "2024-01-02T03:04:05.0001234" },
        { new DateOnly(2024, 2, 29), "2024-02-29" },
        { new byte[] { 0xDE, 0xAD }, @"\xdead" },
    };

    [Fact]
    public void ValueText_refuses_null() =>
        Assert.Throws<ArgumentException>(() => LockKeyFormatter.ValueText(null));
}
