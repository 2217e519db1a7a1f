using System.Numerics;

namespace AtProxy.Coordinator.Locking;

/// <summary>
/// The global row locks held in memory: key → holder, split into shards that each have their
/// own monitor so independent keys do not contend. A branch's keys are acquired all or
/// nothing: the shards they fall in are entered in ascending order (no deadlock between two
/// acquisitions), every key is checked, and only then are the missing ones inserted.
/// </summary>
internal sealed class LockTable
{
    private const int ShardCount = 64; // one bit each in a ulong mask
    private readonly Shard[] _shards;
    private long _count;

    public LockTable()
    {
        _shards = new Shard[ShardCount];
        for (var i = 0; i < ShardCount; i++)
        {
            _shards[i] = new Shard();
        }
    }

    /// <summary>The number of keys held.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>
    /// Acquires every key for <paramref name="holder"/>, or none. Keys already held by the same
    /// XID count as granted (re-entrant) and keep their first holder.
    /// </summary>
    /// <returns>Null when granted; otherwise the first key held by another transaction.</returns>
    public LockConflictInfo? TryAcquire(ReadOnlySpan<LockKeyId> keys, LockHolder holder)
    {
        var mask = ShardMask(keys);
        EnterAll(mask);
        try
        {
            foreach (var key in keys)
            {
                if (_shards[ShardOf(key)].Entries.TryGetValue(key, out var current) && !string.Equals(current.Xid, holder.Xid, StringComparison.Ordinal))
                {
                    return new LockConflictInfo(key, current);
                }
            }
            var added = 0;
            foreach (var key in keys)
            {
                if (_shards[ShardOf(key)].Entries.TryAdd(key, holder))
                {
                    added++;
                }
            }
            Interlocked.Add(ref _count, added);
            return null;
        }
        finally
        {
            ExitAll(mask);
        }
    }

    /// <summary>
    /// Puts keys back exactly as recovered from the store; a key held by another transaction
    /// is taken over (the store's order of records is the truth).
    /// </summary>
    public void Restore(ReadOnlySpan<LockKeyId> keys, LockHolder holder)
    {
        foreach (var key in keys)
        {
            var shard = _shards[ShardOf(key)];
            lock (shard)
            {
                if (shard.Entries.TryGetValue(key, out var current) && string.Equals(current.Xid, holder.Xid, StringComparison.Ordinal))
                {
                    continue;
                }
                if (shard.Entries.TryAdd(key, holder))
                {
                    Interlocked.Increment(ref _count);
                }
                else
                {
                    shard.Entries[key] = holder;
                }
            }
        }
    }

    /// <summary>The first key another transaction than <paramref name="xid"/> holds (any holder when xid is null).</summary>
    public LockConflictInfo? Check(ReadOnlySpan<LockKeyId> keys, string? xid)
    {
        foreach (var key in keys)
        {
            var shard = _shards[ShardOf(key)];
            lock (shard)
            {
                if (shard.Entries.TryGetValue(key, out var current) && (xid is null || !string.Equals(current.Xid, xid, StringComparison.Ordinal)))
                {
                    return new LockConflictInfo(key, current);
                }
            }
        }
        return null;
    }

    /// <summary>The holder of one key, or null.</summary>
    public LockHolder? HolderOf(LockKeyId key)
    {
        var shard = _shards[ShardOf(key)];
        lock (shard)
        {
            return shard.Entries.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Completes when <paramref name="key"/> is next released (at once when it is free), so a waiter
    /// checks again the moment the row is free instead of polling for it; also when its holder turns
    /// to rolling back (<see cref="Nudge"/>), which a waiter holding that row must hear of at once.
    /// </summary>
    public Task WhenReleased(LockKeyId key)
    {
        var shard = _shards[ShardOf(key)];
        lock (shard)
        {
            if (!shard.Entries.ContainsKey(key))
            {
                return Task.CompletedTask;
            }
            shard.Waiters ??= [];
            if (!shard.Waiters.TryGetValue(key, out var released))
            {
                released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                shard.Waiters.Add(key, released);
            }
            return released.Task;
        }
    }

    /// <summary>
    /// Wakes whoever waits for one of <paramref name="keys"/> without releasing it, to look again: its
    /// holder changed in a way a waiter must hear of at once (it is rolling back; see <see cref="WhenReleased"/>).
    /// </summary>
    public void Nudge(ReadOnlySpan<LockKeyId> keys)
    {
        foreach (var key in keys)
        {
            var shard = _shards[ShardOf(key)];
            lock (shard)
            {
                shard.Wake(key);
            }
        }
    }

    /// <summary>Releases the keys among <paramref name="keys"/> that <paramref name="xid"/> holds.</summary>
    public void ReleaseTransaction(ReadOnlySpan<LockKeyId> keys, string xid)
    {
        var removed = 0;
        foreach (var key in keys)
        {
            var shard = _shards[ShardOf(key)];
            lock (shard)
            {
                if (shard.Entries.TryGetValue(key, out var current) && string.Equals(current.Xid, xid, StringComparison.Ordinal))
                {
                    shard.Entries.Remove(key);
                    shard.Removed(key);
                    removed++;
                }
            }
        }
        Interlocked.Add(ref _count, -removed);
    }

    /// <summary>
    /// Releases the keys among <paramref name="keys"/> that <paramref name="holder"/>'s branch
    /// acquired. A key another live branch of the same transaction also registered passes to
    /// that branch instead (<paramref name="successor"/> names it), so it stays held.
    /// </summary>
    public void ReleaseBranch(ReadOnlySpan<LockKeyId> keys, LockHolder holder, Func<LockKeyId, LockHolder?> successor)
    {
        var removed = 0;
        foreach (var key in keys)
        {
            var shard = _shards[ShardOf(key)];
            lock (shard)
            {
                if (!shard.Entries.TryGetValue(key, out var current) || !ReferenceEquals(current, holder))
                {
                    continue;
                }
                if (successor(key) is { } next)
                {
                    shard.Entries[key] = next;
                }
                else
                {
                    shard.Entries.Remove(key);
                    shard.Removed(key);
                    removed++;
                }
            }
        }
        Interlocked.Add(ref _count, -removed);
    }

    /// <summary>A copy of every entry (for listing; not a consistent cut across shards).</summary>
    public List<KeyValuePair<LockKeyId, LockHolder>> Snapshot()
    {
        var all = new List<KeyValuePair<LockKeyId, LockHolder>>();
        foreach (var shard in _shards)
        {
            lock (shard)
            {
                all.AddRange(shard.Entries);
            }
        }
        return all;
    }

    private static int ShardOf(LockKeyId key) => (int)((uint)key.GetHashCode() * 2654435769u >> 26); // top 6 bits: 64 shards

    private static ulong ShardMask(ReadOnlySpan<LockKeyId> keys)
    {
        ulong mask = 0;
        foreach (var key in keys)
        {
            mask |= 1UL << ShardOf(key);
        }
        return mask;
    }

    private void EnterAll(ulong mask)
    {
        var remaining = mask;
        while (remaining != 0)
        {
            var index = BitOperations.TrailingZeroCount(remaining);
            Monitor.Enter(_shards[index]);
            remaining &= remaining - 1;
        }
    }

    private void ExitAll(ulong mask)
    {
        var remaining = mask;
        while (remaining != 0)
        {
            var index = BitOperations.TrailingZeroCount(remaining);
            Monitor.Exit(_shards[index]);
            remaining &= remaining - 1;
        }
    }

    private sealed class Shard
    {
        public Dictionary<LockKeyId, LockHolder> Entries { get; } = [];

        /// <summary>Keys someone waits on, each with the signal their release completes.</summary>
        public Dictionary<LockKeyId, TaskCompletionSource>? Waiters { get; set; }

        // Caller holds the shard's monitor.
        public void Removed(LockKeyId key) => Wake(key);

        // Caller holds the shard's monitor.
        public void Wake(LockKeyId key)
        {
            if (Waiters is { } waiters && waiters.Remove(key, out var released))
            {
                // Continuations run elsewhere (RunContinuationsAsynchronously): safe under the monitor.
                released.TrySetResult();
            }
        }
    }
}
