using System.Data.Common;
using AtProxy.Threading;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AtProxy.EntityFrameworkCore;

/// <summary>
/// At EF Core's local commit, registers the branch (acquiring its global locks) and writes its undo
/// records in the same transaction, just before EF commits; keeps the branch's records in step with
/// EF's savepoints; forgets the branch when the transaction ends.
/// </summary>
internal sealed class AtProxyTransactionInterceptor(BranchTable branches) : DbTransactionInterceptor
{
    // EF Core names the savepoints it creates in SaveChanges this way; the event carries no name.
    private const string EfSavepoint = "__EFSavePoint";

    public override InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
    {
        Blocking.Wait(() => PrepareAsync(transaction, CancellationToken.None));
        return result;
    }

    public override async ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        await PrepareAsync(transaction, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => branches.Remove(transaction);

    public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        branches.Remove(transaction);
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => branches.Remove(transaction);

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        branches.Remove(transaction);
        return Task.CompletedTask;
    }

    public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) =>
        Blocking.Wait(() => FailedAsync(transaction));

    public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default) =>
        FailedAsync(transaction);

    public override void CreatedSavepoint(DbTransaction transaction, TransactionEventData eventData) => branches.Find(transaction)?.MarkSavepoint(EfSavepoint);

    public override Task CreatedSavepointAsync(DbTransaction transaction, TransactionEventData eventData, CancellationToken cancellationToken = default)
    {
        branches.Find(transaction)?.MarkSavepoint(EfSavepoint);
        return Task.CompletedTask;
    }

    public override void RolledBackToSavepoint(DbTransaction transaction, TransactionEventData eventData) => branches.Find(transaction)?.RollbackToSavepoint(EfSavepoint);

    public override Task RolledBackToSavepointAsync(DbTransaction transaction, TransactionEventData eventData, CancellationToken cancellationToken = default)
    {
        branches.Find(transaction)?.RollbackToSavepoint(EfSavepoint);
        return Task.CompletedTask;
    }

    public override void ReleasedSavepoint(DbTransaction transaction, TransactionEventData eventData) => branches.Find(transaction)?.ReleaseSavepoint(EfSavepoint);

    public override Task ReleasedSavepointAsync(DbTransaction transaction, TransactionEventData eventData, CancellationToken cancellationToken = default)
    {
        branches.Find(transaction)?.ReleaseSavepoint(EfSavepoint);
        return Task.CompletedTask;
    }

    private async Task PrepareAsync(DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (branches.Find(transaction) is { IsEmpty: false } branch)
        {
            // A failure here propagates: EF does not commit, and rolls the transaction back.
            await branch.PrepareCommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FailedAsync(DbTransaction transaction)
    {
        if (branches.Find(transaction) is { } branch)
        {
            await branch.ReportCommitFailedAsync().ConfigureAwait(false);
            branches.Remove(transaction);
        }
    }
}
