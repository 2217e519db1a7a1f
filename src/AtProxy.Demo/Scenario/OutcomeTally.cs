using System.Collections.Concurrent;
using AtProxy.Demo.Contracts;

namespace AtProxy.Demo.Scenario;

/// <summary>How many orders ended which way, counted as they finish (thread-safe).</summary>
internal sealed class OutcomeTally
{
    private readonly ConcurrentDictionary<OrderOutcome, int> _counts = new();
    private readonly ConcurrentQueue<string> _unexpected = new();

    /// <summary>Orders counted so far.</summary>
    public int Total => _counts.Values.Sum();

    /// <summary>The orders that ended <paramref name="outcome"/>.</summary>
    public int this[OrderOutcome outcome] => _counts.GetValueOrDefault(outcome);

    /// <summary>Every outcome seen, with its count.</summary>
    public IReadOnlyDictionary<OrderOutcome, int> Counts => _counts.ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>The first messages of orders that failed for an unexpected reason.</summary>
    public IReadOnlyList<string> UnexpectedFailures => _unexpected.Take(5).ToList();

    /// <summary>Counts one finished order.</summary>
    public void Add(OrderResult result)
    {
        _counts.AddOrUpdate(result.Outcome, 1, (_, n) => n + 1);
        if (result.Outcome == OrderOutcome.Failed && result.Detail is { } detail)
        {
            _unexpected.Enqueue(detail);
        }
    }
}
