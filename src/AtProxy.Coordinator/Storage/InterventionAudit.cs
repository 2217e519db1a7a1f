using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.Storage;

/// <summary>
/// The intervention audit of a store that lives in this process: every entry applied from a
/// durable record (the intervention's own change, or compaction's copy), kept apart from the
/// transactions so their purge does not touch it, and dropped only by its own retention.
/// </summary>
internal sealed class InterventionAudit
{
    private readonly SortedList<long, Intervention> _byId = [];
    private long _lastId;

    /// <summary>A new entry id, above every id handed out or replayed.</summary>
    public long NextId()
    {
        lock (_byId)
        {
            return ++_lastId;
        }
    }

    public long LastId
    {
        get
        {
            lock (_byId)
            {
                return _lastId;
            }
        }
    }

    /// <summary>Raises the id counter (replay of a compacted log whose newest entries expired).</summary>
    public void RaiseLastId(long id)
    {
        lock (_byId)
        {
            _lastId = Math.Max(_lastId, id);
        }
    }

    public void Add(Intervention entry)
    {
        lock (_byId)
        {
            _byId[entry.Id] = entry;
            _lastId = Math.Max(_lastId, entry.Id);
        }
    }

    /// <summary>Newest first: entries below <paramref name="beforeId"/>, of <paramref name="xid"/> when not empty.</summary>
    public List<Intervention> List(string xid, long beforeId, int limit)
    {
        var page = new List<Intervention>(Math.Min(limit, 128));
        lock (_byId)
        {
            for (var i = _byId.Count - 1; i >= 0 && page.Count < limit; i--)
            {
                var entry = _byId.Values[i];
                if (entry.Id < beforeId && (xid.Length == 0 || entry.Xid == xid))
                {
                    page.Add(entry);
                }
            }
        }
        return page;
    }

    /// <summary>Every entry, oldest first (for compaction).</summary>
    public Intervention[] Snapshot()
    {
        lock (_byId)
        {
            return [.. _byId.Values];
        }
    }

    /// <summary>Drops entries made before <paramref name="atUnixMs"/>.</summary>
    public void ExpireBefore(long atUnixMs)
    {
        lock (_byId)
        {
            while (_byId.Count > 0 && _byId.Values[0].AtUnixMs < atUnixMs)
            {
                _byId.RemoveAt(0);
            }
        }
    }
}
