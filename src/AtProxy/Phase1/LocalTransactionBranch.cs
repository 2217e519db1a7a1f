using System.Data.Common;
using AtProxy.Protocol.V1;
using AtProxy.Resources;
using AtProxy.Sql.Dialects;
using AtProxy.Transactions;
using AtProxy.Undo;

namespace AtProxy.Phase1;

/// <summary>
/// One local transaction's part in a global transaction (or, in a <c>GlobalLock</c> scope, only its
/// lock check): the statements it ran through phase 1 leave their undo records here, in memory,
/// until its local commit registers the branch and writes them. Held by <see cref="AtDbTransaction"/>,
/// by EF Core's integration beside EF's own transaction, and for the length of one autocommit statement.
/// </summary>
internal sealed class LocalTransactionBranch(
    AtProxyRuntime runtime, DbConnection connection, DbTransaction transaction, AmbientTransaction owner, Resource resource)
{
    private readonly List<UndoRecord> _records = [];
    private readonly List<(string Name, int Count)> _savepoints = [];

    // How many savepoints were open when it was doomed: rolling back to one of them undoes the statement.
    private int _doomedUnderSavepoints;

    public AtProxyRuntime Runtime { get; } = runtime;

    /// <summary>The provider's own open connection (never a wrapper).</summary>
    public DbConnection Connection { get; } = connection;

    /// <summary>The provider's own local transaction on <see cref="Connection"/>.</summary>
    public DbTransaction Transaction { get; } = transaction;

    /// <summary>The global transaction this branch belongs to, or the GlobalLock scope it checks locks for.</summary>
    public AmbientTransaction Owner { get; } = owner;

    /// <summary>The global transaction's XID; null in a GlobalLock scope.</summary>
    public string? Xid => Owner.Xid;

    public Resource Resource { get; } = resource;

    public IReadOnlyList<UndoRecord> Records => _records;

    /// <summary>Nothing to register: no records, and no statement failed after it may have written.</summary>
    public bool IsEmpty => _records.Count == 0 && DoomedBy is null;

    /// <summary>
    /// Why this local transaction must not commit: a statement failed after it ran, so rows it may
    /// have written have no undo record. Null while it may commit.
    /// </summary>
    public string? DoomedBy { get; private set; }

    /// <summary>The coordinator's id once <see cref="PrepareCommitAsync"/> registered the branch.</summary>
    public long? RegisteredBranchId { get; private set; }

    /// <summary>Runs the planned statements in this local transaction, recording their undo.</summary>
    public Task<ExecutionResult> RunAsync(StatementPlan plan, CancellationToken cancellationToken) =>
        StatementRunner.RunAsync(this, plan, cancellationToken);

    /// <summary>
    /// Everything the database's own COMMIT needs first (see <see cref="BranchCommitter.PrepareAsync"/>);
    /// the caller commits, and calls <see cref="ReportCommitFailedAsync"/> if the COMMIT fails.
    /// </summary>
    public async Task PrepareCommitAsync(CancellationToken cancellationToken) =>
        RegisteredBranchId = await Runtime.Committer.PrepareAsync(this, cancellationToken).ConfigureAwait(false);

    /// <summary>Prepares and commits the local transaction; on failure it is rolled back and the error raised.</summary>
    public Task CommitAsync(CancellationToken cancellationToken, int? lockRetries = null) =>
        Runtime.Committer.CommitAsync(this, cancellationToken, lockRetries);

    /// <summary>The database refused the COMMIT after <see cref="PrepareCommitAsync"/> succeeded.</summary>
    public Task ReportCommitFailedAsync() => Runtime.Committer.CommitFailedAsync(this, RegisteredBranchId);

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
