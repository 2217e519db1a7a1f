using System.Collections.Concurrent;
using System.Diagnostics;

namespace AtProxy.Load;

/// <summary>
/// Where a transaction's time goes: listens to AtProxy's and Npgsql's activities while a run
/// lasts and sums their durations by name (SQL spans by the statement's first words), so a run
/// shows which round trips an AT transaction pays for and how long each takes under load.
/// </summary>
internal sealed class SpanBreakdown : IDisposable
{
    private readonly ConcurrentDictionary<string, Totals> _spans = new(StringComparer.Ordinal);
    private readonly ActivityListener _listener;

    public SpanBreakdown()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "AtProxy" or "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = Record,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    private void Record(Activity activity)
    {
        var name = activity.Source.Name == "Npgsql" ? "sql " + StatementHead(activity) : activity.OperationName;
        var totals = _spans.GetOrAdd(name, static _ => new Totals());
        Interlocked.Increment(ref totals.Count);
        Interlocked.Add(ref totals.Ticks, activity.Duration.Ticks);
    }

    private static string StatementHead(Activity activity)
    {
        var text = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName;
        var words = text.Split([' ', '\n', '\t', '('], 4, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', words.Take(3));
    }

    /// <summary>One line per span: count per transaction and mean milliseconds, the costliest first.</summary>
    public IEnumerable<string> Lines(long transactions) =>
        _spans.OrderByDescending(s => s.Value.Ticks).Select(s =>
            $"{s.Key,-48} {(double)s.Value.Count / Math.Max(1, transactions),6:F2}/tx  mean {TimeSpan.FromTicks(s.Value.Ticks / Math.Max(1, s.Value.Count)).TotalMilliseconds,7:F2} ms  total/tx {TimeSpan.FromTicks(s.Value.Ticks / Math.Max(1, transactions)).TotalMilliseconds,7:F2} ms");

    public void Dispose() => _listener.Dispose();

    private sealed class Totals
    {
        public long Count;
        public long Ticks;
    }
}
