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

    /// <summary>Nothing to register: no records, and no statement failed after it may have written.</summary>
    public bool IsEmpty => _records.Count == 0 && DoomedBy is null;

    /// <summary>
    /// Why this local transaction must not commit: a statement failed after it ran, so rows it may
    /// have written have no undo record. Null while it may commit.
    /// </summary>
    public string? DoomedBy { get; private set; }

    // How many savepoints were open when it was doomed: rolling back to one of them undoes the statement.
    private int _doomedUnderSavepoints;

    public void Add(UndoRecord record) => _records.Add(record);

    /// <summary>Marks the local transaction as one that may only roll back (see <see cref="DoomedBy"/>).</summary>
    public void Doom(string reason)
    {
        if (DoomedBy is null)
        {
            DoomedBy = reason;
            _doomedUnderSavepoints = _savepoints.Count;
        }
    }

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
        if (index < _doomedUnderSavepoints)
        {
            // The failed statement ran after this savepoint: the database has undone it.
            DoomedBy = null;
        }
        // The savepoint itself survives a rollback to it; later ones do not.
        _savepoints.RemoveRange(index + 1, _savepoints.Count - index - 1);
    }

    public void ReleaseSavepoint(string name)
    {
        var index = _savepoints.FindLastIndex(s => s.Name == name);
        if (index >= 0)
        {
            _savepoints.RemoveRange(index, _savepoints.Count - index);
            // A released savepoint can no longer undo the failed statement.
            _doomedUnderSavepoints = Math.Min(_doomedUnderSavepoints, index);
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
