using System.Collections.Concurrent;
using AtProxy.Sql.Parsing;

namespace AtProxy.Sql;

/// <summary>
/// Turns command text into <see cref="RecognizedCommand"/>s, caching them by text. Thread-safe;
/// a cache hit takes no lock and allocates nothing. The cache is bounded: when it is full, the
/// entries not used since the last sweep are dropped, so unparameterized SQL cannot exhaust memory.
/// </summary>
internal sealed class SqlRecognizer
{
    /// <summary>The default number of distinct command texts kept.</summary>
    public const int DefaultCapacity = 4096;

    /// <summary>Longer command texts are recognized every time rather than pinned in the cache.</summary>
    public const int MaxCachedTextLength = 64 * 1024;

    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly object _sweepGate = new();
    private int _count;

    /// <summary>Creates a recognizer whose cache keeps at most <paramref name="capacity"/> command texts.</summary>
    public SqlRecognizer(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>A process-wide instance with the default capacity.</summary>
    public static SqlRecognizer Shared { get; } = new();

    /// <summary>How many command texts the cache holds now.</summary>
    public int CachedCount => Volatile.Read(ref _count);

    /// <summary>Recognizes every statement of <paramref name="commandText"/>.</summary>
    public RecognizedCommand Recognize(string commandText)
    {
        ArgumentNullException.ThrowIfNull(commandText);
        if (_cache.TryGetValue(commandText, out var entry))
        {
            // A plain store, no lock: the sweep only needs to know the entry was used recently.
            entry.Used = true;
            return entry.Command;
        }

        var command = RecognizeUncached(commandText);
        if (commandText.Length <= MaxCachedTextLength && _cache.TryAdd(commandText, new Entry(command)))
        {
            if (Interlocked.Increment(ref _count) > _capacity)
            {
                Sweep();
            }
        }
        return command;
    }

    /// <summary>Recognizes without looking at or filling the cache (for measurements and tests).</summary>
    public static RecognizedCommand RecognizeUncached(string commandText)
    {
        ArgumentNullException.ThrowIfNull(commandText);
        return CommandRecognition.Recognize(commandText);
    }

    /// <summary>Drops every cached entry.</summary>
    public void Clear()
    {
        lock (_sweepGate)
        {
            _cache.Clear();
            Volatile.Write(ref _count, 0);
        }
    }

    // Second-chance eviction: entries used since the last sweep survive (and lose their mark);
    // the rest go. If everything was in use, half is dropped anyway so the bound holds.
    private void Sweep()
    {
        if (!Monitor.TryEnter(_sweepGate))
        {
            return; // another thread is already sweeping
        }
        try
        {
            if (Volatile.Read(ref _count) <= _capacity)
            {
                return;
            }
            var target = _capacity / 2;
            foreach (var pair in _cache)
            {
                if (Volatile.Read(ref _count) <= target)
                {
                    break;
                }
                if (pair.Value.Used)
                {
                    pair.Value.Used = false;
                }
                else if (_cache.TryRemove(pair.Key, out _))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
            foreach (var pair in _cache)
            {
                if (Volatile.Read(ref _count) <= target)
                {
                    break;
                }
                if (_cache.TryRemove(pair.Key, out _))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }
        finally
        {
            Monitor.Exit(_sweepGate);
        }
    }

    private sealed class Entry(RecognizedCommand command)
    {
        public RecognizedCommand Command { get; } = command;

        public bool Used { get; set; }
    }
}
