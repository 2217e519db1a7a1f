using System.Data;
using System.Data.Common;
using AtProxy.Phase1;
using AtProxy.Threading;
using AtProxy.Transactions;

namespace AtProxy;

/// <summary>
/// A local transaction on an <see cref="AtDbConnection"/>. Inside a global transaction, its commit
/// registers the branch (acquiring the rows' global locks) and writes the undo records in the same
/// local transaction before committing it.
/// </summary>
public sealed class AtDbTransaction : DbTransaction
{
    private readonly AtDbConnection _connection;
    private bool _completed;
    private bool _disposed;

    internal AtDbTransaction(DbTransaction wrapped, AtDbConnection connection)
    {
        WrappedTransaction = wrapped;
        _connection = connection;
    }

    /// <summary>The transaction this one wraps.</summary>
    public DbTransaction WrappedTransaction { get; }

    /// <summary>The branch work recorded so far in this local transaction, if it joined a global one.</summary>
    internal LocalTransactionBranch? Branch { get; private set; }

    /// <summary>This local transaction's branch, begun for <paramref name="owner"/> by its first statement through phase 1.</summary>
    internal LocalTransactionBranch BranchFor(AmbientTransaction owner) =>
        Branch ??= new LocalTransactionBranch(_connection.Runtime, _connection.WrappedConnection, WrappedTransaction, owner, _connection.Resource);

    /// <inheritdoc />
    public override IsolationLevel IsolationLevel => WrappedTransaction.IsolationLevel;

    /// <inheritdoc />
    protected override DbConnection DbConnection => _connection;

    /// <inheritdoc />
    public override bool SupportsSavepoints => WrappedTransaction.SupportsSavepoints;

    /// <inheritdoc cref="DbTransaction.Commit()"/>
    public override void Commit() => Blocking.Wait(() => CommitCoreAsync(async: false, CancellationToken.None));

    /// <inheritdoc cref="DbTransaction.CommitAsync(CancellationToken)"/>
    public override Task CommitAsync(CancellationToken cancellationToken = default) => CommitCoreAsync(async: true, cancellationToken);

    /// <inheritdoc cref="DbTransaction.Rollback()"/>
    public override void Rollback()
    {
        EnsureActive();
        try
        {
            WrappedTransaction.Rollback();
        }
        finally
        {
            Complete();
        }
    }

    /// <inheritdoc cref="DbTransaction.RollbackAsync(CancellationToken)"/>
    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        try
        {
            await WrappedTransaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Complete();
        }
    }

    /// <inheritdoc />
    public override void Save(string savepointName)
    {
        WrappedTransaction.Save(savepointName);
        Branch?.MarkSavepoint(savepointName);
    }

    /// <inheritdoc />
    public override async Task SaveAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        await WrappedTransaction.SaveAsync(savepointName, cancellationToken).ConfigureAwait(false);
        Branch?.MarkSavepoint(savepointName);
    }

    /// <inheritdoc />
    public override void Rollback(string savepointName)
    {
        WrappedTransaction.Rollback(savepointName);
        Branch?.RollbackToSavepoint(savepointName);
    }

    /// <inheritdoc />
    public override async Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        await WrappedTransaction.RollbackAsync(savepointName, cancellationToken).ConfigureAwait(false);
        Branch?.RollbackToSavepoint(savepointName);
    }

    /// <inheritdoc />
    public override void Release(string savepointName)
    {
        WrappedTransaction.Release(savepointName);
        Branch?.ReleaseSavepoint(savepointName);
    }

    /// <inheritdoc />
    public override async Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        await WrappedTransaction.ReleaseAsync(savepointName, cancellationToken).ConfigureAwait(false);
        Branch?.ReleaseSavepoint(savepointName);
    }

    /// <summary>Disposes the wrapped transaction; an uncommitted one is rolled back by it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _disposed = true;
            WrappedTransaction.Dispose();
            Complete();
        }
        base.Dispose(disposing);
    }

    /// <summary>Disposes the wrapped transaction; an uncommitted one is rolled back by it.</summary>
    public override async ValueTask DisposeAsync()
    {
        _disposed = true;
        await WrappedTransaction.DisposeAsync().ConfigureAwait(false);
        Complete();
        GC.SuppressFinalize(this);
    }

    /// <summary>The connection closed under the transaction: the server rolled it back.</summary>
    internal void Abandon() => Complete();

    private async Task CommitCoreAsync(bool async, CancellationToken cancellationToken)
    {
        EnsureActive();
        try
        {
            if (Branch is { IsEmpty: false } branch)
            {
                await branch.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (async)
            {
                await WrappedTransaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                WrappedTransaction.Commit();
            }
        }
        finally
        {
            Complete();
        }
    }

    private void EnsureActive()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("This transaction has completed; it is no longer usable.");
        }
    }

    private void Complete()
    {
        _completed = true;
        Branch = null;
        if (ReferenceEquals(_connection.CurrentTransaction, this))
        {
            _connection.CurrentTransaction = null;
        }
    }
}
