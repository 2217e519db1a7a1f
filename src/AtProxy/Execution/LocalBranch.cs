using AtProxy.Protocol.V1;
using AtProxy.Resources;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Execution;

/// <summary>
/// The undo records one local transaction collected for its branch of a global transaction
/// (or, in a <c>GlobalLock</c> scope, only for the lock check). Kept in memory until local commit.
/// </summary>
internal sealed class LocalBranch(string? xid, Resource resource, AtProxyClient client)
{
    private readonly List<UndoRecord> _records = [];
    private readonly List<(string Name, int Count)> _savepoints = [];

    /// <summary>The global transaction, or null for a GlobalLock scope (check locks, register nothing).</summary>
    public string? Xid { get; } = xid;

    public Resource Resource { get; } = resource;

    public AtProxyClient Client { get; } = client;

    public IReadOnlyList<UndoRecord> Records => _records;

    public bool IsEmpty => _records.Count == 0;

    public void Add(UndoRecord record) => _records.Add(record);

    public void MarkSavepoint(string name) => _savepoints.Add((name, _records.Count));

    /// <summary>Statements after the savepoint were undone by the database; so are their records.</summary>
    public void RollbackToSavepoint(string name)
    {
        var index = _savepoints.FindLastIndex(s => s.Name == name);
        if (index < 0)
        {
            return;
        }
        var count = _savepoints[index].Count;
        _records.RemoveRange(count, _records.Count - count);
        // The savepoint itself survives a rollback to it; later ones do not.
        _savepoints.RemoveRange(index + 1, _savepoints.Count - index - 1);
    }

    public void ReleaseSavepoint(string name)
    {
        var index = _savepoints.FindLastIndex(s => s.Name == name);
        if (index >= 0)
        {
            _savepoints.RemoveRange(index, _savepoints.Count - index);
        }
    }

    /// <summary>The global lock keys of every row the records touch, deduplicated.</summary>
    public List<LockKey> LockKeys()
    {
        var seen = new HashSet<RowLockKey>();
        var keys = new List<LockKey>();
        foreach (var record in _records)
        {
            var table = UndoRecordTable.TableOf(record);
            foreach (var key in Resource.Dialect.BuildLockKeys(table, record.Before.Concat(record.After)))
            {
                if (seen.Add(key))
                {
                    keys.Add(key.ToLockKey());
                }
            }
        }
        return keys;
    }
}
