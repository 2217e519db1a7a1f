using AtProxy.Sql;

namespace AtProxy.Tests.Sql;

public class SqlRecognizerCacheTests
{
    private const string Update = "UPDATE stock SET count = count - @n WHERE sku = @sku";

    [Fact]
    public void Recognize_same_text_twice_returns_the_cached_instance()
    {
        var recognizer = new SqlRecognizer();
        var first = recognizer.Recognize(Update);
        var second = recognizer.Recognize(new string(Update.AsSpan())); // equal text, different string instance
        Assert.Same(first, second);
        Assert.Equal(1, recognizer.CachedCount);
    }

    [Fact]
    public void Recognize_cache_hit_allocates_nothing()
    {
        var recognizer = new SqlRecognizer();
        recognizer.Recognize(Update);
        recognizer.Recognize(Update); // the hit path is compiled before measuring

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            recognizer.Recognize(Update);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Recognize_many_distinct_texts_stays_within_capacity()
    {
        var recognizer = new SqlRecognizer(capacity: 64);
        for (var i = 0; i < 2000; i++)
        {
            recognizer.Recognize($"UPDATE stock SET count = {i} WHERE sku = 'A-{i}'");
            Assert.InRange(recognizer.CachedCount, 1, 64);
        }
    }

    [Fact]
    public void Recognize_keeps_a_text_in_use_while_unused_ones_are_evicted()
    {
        var recognizer = new SqlRecognizer(capacity: 16);
        var hot = recognizer.Recognize(Update);
        for (var i = 0; i < 500; i++)
        {
            recognizer.Recognize($"DELETE FROM kv WHERE k = '{i}'");
            Assert.Same(hot, recognizer.Recognize(Update));
        }
    }

    [Fact]
    public void Recognize_very_long_text_is_not_cached()
    {
        var recognizer = new SqlRecognizer();
        var values = string.Join(", ", Enumerable.Range(0, 20_000).Select(i => $"({i})"));
        var text = "INSERT INTO kv (k) VALUES " + values;
        Assert.True(text.Length > SqlRecognizer.MaxCachedTextLength);

        var command = recognizer.Recognize(text);

        Assert.Equal(20_000, command.Statements[0].ValuesRows.Count);
        Assert.Equal(0, recognizer.CachedCount);
    }

    [Fact]
    public void Recognize_from_many_threads_gives_each_caller_its_own_text_model()
    {
        var recognizer = new SqlRecognizer(capacity: 32);
        var texts = Enumerable.Range(0, 100).Select(i => $"UPDATE orders SET note = 'n{i}' WHERE id = {i}").ToArray();
        Parallel.For(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var text = texts[i % texts.Length];
            var command = recognizer.Recognize(text);
            Assert.Equal(text, command.CommandText);
            Assert.Equal($"id = {i % texts.Length}", command.Statements[0].Where!.Text);
        });
        Assert.InRange(recognizer.CachedCount, 1, 32);
    }

    [Fact]
    public void Constructor_rejects_a_capacity_below_one() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqlRecognizer(0));
}
