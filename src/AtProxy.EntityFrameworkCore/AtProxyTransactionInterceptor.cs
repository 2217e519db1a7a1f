using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AtProxy.EntityFrameworkCore;

/// <summary>
/// At EF Core's local commit, registers the branch (acquiring its global locks) and writes its undo
/// records in the same transaction, just before EF commits; keeps the branch's records in step with
/// EF's savepoints; forgets the branch when the transaction ends.
/// </summary>
internal sealed class AtProxyTransactionInterceptor(AtProxyClient client, BranchTable branches) : DbTransactionInterceptor
{
    // EF Core names the savepoints it creates in SaveChanges this way; the event carries no name.
    private const string EfSavepoint = "__EFSavePoint";

    public override InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
    {
        PrepareAsync(transaction, CancellationToken.None).GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        await PrepareAsync(transaction, cancellationToken);
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
        FailedAsync(transaction).GetAwaiter().GetResult();

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
        if (branches.Find(transaction) is not { IsEmpty: false } branch || transaction.Connection is not { } connection)
        {
            return;
        }
        // A failure here propagates: EF does not commit, and rolls the transaction back.
        var branchId = await client.Phase1.PrepareLocalCommitAsync(connection, transaction, branch, cancellationToken);
        branches.SetRegisteredBranchId(transaction, branchId);
    }

    private async Task FailedAsync(DbTransaction transaction)
    {
        if (branches.Find(transaction) is { } branch)
        {
            await client.Phase1.LocalCommitFailedAsync(branch, branches.RegisteredBranchId(transaction));
            branches.Remove(transaction);
        }
    }
}
