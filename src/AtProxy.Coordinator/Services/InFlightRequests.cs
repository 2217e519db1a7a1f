using System.Collections.Concurrent;

namespace AtProxy.Coordinator.Services;

/// <summary>
/// The requests of one call stream that are started and not yet answered: refuses an id already in
/// flight, counts them cheaply (read for every request), and lets the stream wait until the answer
/// of each is queued before it ends.
/// </summary>
internal sealed class InFlightRequests
{
    private readonly ConcurrentDictionary<ulong, byte> _ids = new();
    private readonly TaskCompletionSource _allAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;
    private int _unanswered;
    private int _ending;

    /// <summary>Ids in flight.</summary>
    public int Count => Volatile.Read(ref _count);

    public bool Contains(ulong id) => _ids.ContainsKey(id);

    /// <summary>Marks <paramref name="id"/> in flight; false when it already is.</summary>
    public bool TryStart(ulong id)
    {
        if (!_ids.TryAdd(id, 0))
        {
            return false;
        }
        Interlocked.Increment(ref _count);
        Interlocked.Increment(ref _unanswered);
        return true;
    }

    /// <summary>Frees <paramref name="id"/> for reuse (before its answer is sent: the client may reuse it once it has the answer).</summary>
    public void Free(ulong id)
    {
        if (_ids.TryRemove(id, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>The answer of a request started with <see cref="TryStart"/> is queued.</summary>
    public void Answered()
    {
        if (Interlocked.Decrement(ref _unanswered) == 0 && Volatile.Read(ref _ending) == 1)
        {
            _allAnswered.TrySetResult();
        }
    }

    /// <summary>Completes once every started request's answer is queued; no request may start after it is called.</summary>
    public Task AllAnsweredAsync()
    {
        Interlocked.Exchange(ref _ending, 1);
        if (Volatile.Read(ref _unanswered) == 0)
        {
            _allAnswered.TrySetResult();
        }
        return _allAnswered.Task;
    }
}
