using System.Data.Common;
using AtProxy.Images;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using AtProxy.Resources;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Phase2;

/// <summary>
/// Phase-2 rollback of one branch: restores its rows from the undo records, in reverse order,
/// in one local transaction, refusing to overwrite a row changed outside the global transaction.
/// </summary>
internal sealed class BranchRollbacker(WrittenUndoLogs written, ILogger logger)
{
    // Generic plans as well (see UndoLogTable.GenericPlansCall): the rows' check selects by key = ANY (array).
    private static readonly string PinSettings = CanonicalText.PinSettingsSql(lockTimeout: "5s") + ", " + UndoLogTable.GenericPlansCall;

    private readonly RecentRollbacks _recent = new();

    /// <summary>The outcome to report to the coordinator.</summary>
    public readonly record struct Outcome(BranchStatus Status, string Message);

    public async Task<Outcome> RollbackAsync(Resource resource, string xid, long branchId, CancellationToken cancellationToken)
    {
        try
        {
            await resource.EnsureUndoLogAsync(cancellationToken).ConfigureAwait(false);
            var connection = await resource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var transactionDisposal = transaction.ConfigureAwait(false);
            // A phase-1 transaction still holding the rows must not make the rollback hang; retry later instead.
            // Values are parsed back under the settings they were printed in (see CanonicalText). The
            // settings go in the undo row's round trip, and so does the check of the newest record's rows
            // when this process wrote the undo row (it is used only if the row loaded is the one written).
            var hint = written.Take(xid, branchId);
            var (row, checkedNewest) = await LoadAsync(resource, connection, transaction, xid, branchId, hint, cancellationToken).ConfigureAwait(false);
            if (row is null && _recent.WasRestored(DatabaseOf(resource), xid, branchId))
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new Outcome(BranchStatus.PhaseTwoRollbacked, "already rolled back");
            }
            if (row is null)
            {
                // Phase 1 has not committed (yet): leave a marker so a late local commit of this branch fails.
                await resource.UndoLog.InsertAsync(connection, transaction, xid, branchId, [], UndoLogTables.MarkerContext, UndoLogStatus.GlobalFinished, commit: true, cancellationToken).ConfigureAwait(false);
                return new Outcome(BranchStatus.PhaseTwoRollbacked, "no undo records: global-finished marker written");
            }
            if (row.Value.Status == UndoLogStatus.Committed)
            {
                // Kept for audit after the branch's phase-2 commit; the protocol never rolls back a committed branch.
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new Outcome(BranchStatus.PhaseTwoRollbackFailedUnretryable,
                    "refused: this branch was committed (its undo row is kept as an audit record); a rollback after a commit cannot happen by protocol, data left untouched");
            }
            if (row.Value.Status == UndoLogStatus.GlobalFinished)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new Outcome(BranchStatus.PhaseTwoRollbacked, "already rolled back");
            }

            if (!UndoLogCodec.TryDecode(row.Value.RollbackInfo, row.Value.Context, out var log, out var problem))
            {
                throw new AtProxyException($"The undo log row of branch {branchId} of {xid} cannot be read: {problem}.");
            }
            var form = UndoLogCodec.IsPinnedText(log) ? ImageForm.Canonical : ImageForm.SessionText;
            if (form == ImageForm.SessionText)
            {
                // Written before images were canonical: read and parse in the session's own settings, as they were.
                await connection.RunAsync(transaction, CanonicalText.UnpinSettingsSql, cancellationToken).ConfigureAwait(false);
            }
            if (checkedNewest is not null && (form != ImageForm.Canonical || !row.Value.RollbackInfo.AsSpan().SequenceEqual(hint!.RollbackInfo) || row.Value.Context != hint.Context))
            {
                checkedNewest = null; // not the undo row this process wrote: check its rows after all
            }
            for (var i = log.Records.Count - 1; i >= 0; i--)
            {
                var checkedRows = i == log.Records.Count - 1 ? checkedNewest : null;
                var dirty = await UndoRecordExecutor.UndoAsync(resource.Dialect, connection, transaction, log.Records[i], form, cancellationToken, checkedRows).ConfigureAwait(false);
                if (dirty is not null)
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    logger.LogError("Rollback of branch {BranchId} of {Xid} on {Resource} stopped: {Reason}", branchId, xid, resource.Id, dirty);
                    return new Outcome(BranchStatus.PhaseTwoRollbackFailedUnretryable, dirty);
                }
            }
            Diagnostics.CrashPoints.Reach(Diagnostics.CrashPoints.RollbackBeforeCommit);
            await resource.UndoLog.DeleteAndCommitAsync(connection, transaction, xid, branchId, cancellationToken).ConfigureAwait(false);
            _recent.Restored(DatabaseOf(resource), xid, branchId);
            return new Outcome(BranchStatus.PhaseTwoRollbacked, "");
        }
        catch (FormatException ex)
        {
            // An image that does not read back as a row of its record: retrying cannot help.
            logger.LogError(ex, "Rollback of branch {BranchId} of {Xid} on {Resource} stopped: a row image could not be read", branchId, xid, resource.Id);
            return new Outcome(BranchStatus.PhaseTwoRollbackFailedUnretryable, $"a row image could not be read ({ex.Message}); data left untouched");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (ex is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                // Phase 1 committed while we looked; the next attempt finds its undo records.
                return new Outcome(BranchStatus.PhaseTwoRollbackFailedRetryable, "phase 1 committed concurrently; retry");
            }
            logger.LogWarning(ex, "Rollback of branch {BranchId} of {Xid} on {Resource} failed; the coordinator retries", branchId, xid, resource.Id);
            return new Outcome(BranchStatus.PhaseTwoRollbackFailedRetryable, ex.Message);
        }
    }

    /// <summary>
    /// One round trip: the settings, the undo row <c>FOR UPDATE</c> and, with a <paramref name="hint"/>, the
    /// check of the rows of the newest record written (read and locked, as the check after the load would).
    /// </summary>
    private static async Task<((byte[] RollbackInfo, string Context, UndoLogStatus Status)? Row, Dictionary<string, UndoRow>? CheckedNewest)> LoadAsync(
        Resource resource, DbConnection connection, DbTransaction transaction, string xid, long branchId, WrittenUndoLogs.Entry? hint, CancellationToken cancellationToken)
    {
        var batch = connection.CreateBatch();
        await using var batchDisposal = batch.ConfigureAwait(false);
        batch.Transaction = transaction;
        var pin = batch.CreateBatchCommand();
        pin.CommandText = PinSettings;
        batch.BatchCommands.Add(pin);
        resource.UndoLog.AddLoadForUpdate(batch, xid, branchId);
        var check = hint is null ? null : UndoRecordExecutor.BuildRowCheck(resource.Dialect, hint.Newest, ImageForm.Canonical);
        if (check is not null)
        {
            var command = batch.CreateBatchCommand();
            check.Apply(command);
            batch.BatchCommands.Add(command);
        }
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var row = await UndoLogTable.ReadLoadedAsync(reader, cancellationToken).ConfigureAwait(false);
        if (check is null)
        {
            return (row, null);
        }
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return (row, await UndoRecordExecutor.ReadRowCheckAsync(resource.Dialect, reader, hint!.Newest, ImageForm.Canonical, cancellationToken).ConfigureAwait(false));
        }
        catch (FormatException)
        {
            // Not this check's to report: the check after the load reads the loaded row's records and says so if they fail too.
            return (row, null);
        }
    }

    // The database the undo log lives in: a resource id re-wrapped over another database is another one.
    private static string DatabaseOf(Resource resource) => resource.Identity?.Id ?? resource.Id;
}
