namespace AtProxy.Coordinator.Storage.Embedded;

/// <summary>
/// Many producers, one consumer on a thread of its own. Producers never block; the consumer
/// is woken directly rather than through the thread pool, whose queue is long with gRPC work
/// exactly when group commit matters, so a flush never waits behind the calls it would release.
/// </summary>
internal sealed class WriterQueue<T>
{
    private readonly object _gate = new();
    private Queue<T> _incoming = new();
    private bool _completed;
    private bool _consumerWaiting;

    /// <summary>Adds <paramref name="item"/>; false once <see cref="Complete"/> was called.</summary>
    public bool TryAdd(T item)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }
            _incoming.Enqueue(item);
            if (_consumerWaiting)
            {
                _consumerWaiting = false;
                Monitor.Pulse(_gate);
            }
            return true;
        }
    }

    /// <summary>Refuses further items; the consumer still drains what was added.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Moves every queued item to <paramref name="into"/> (which must be empty), waiting while
    /// there is none; false when the queue is completed and drained.
    /// </summary>
    public bool TakeAll(ref Queue<T> into)
    {
        lock (_gate)
        {
            while (_incoming.Count == 0)
            {
                if (_completed)
                {
                    return false;
                }
                _consumerWaiting = true;
                Monitor.Wait(_gate);
            }
            (_incoming, into) = (into, _incoming);
            return true;
        }
    }
}
