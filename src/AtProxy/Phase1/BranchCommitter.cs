using System.Data.Common;
using System.Diagnostics;
using AtProxy.Coordination;
using AtProxy.Diagnostics;
using AtProxy.Phase2;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using AtProxy.Undo;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Phase1;

/// <summary>
/// A branch's local commit: register the branch with its lock keys at the coordinator and write its
/// undo records in the same local transaction, then COMMIT; in a GlobalLock scope only check the
/// locks. A branch registered but not committed is reported as failed, so the coordinator never
/// waits for it.
/// </summary>
internal sealed class BranchCommitter(
    CoordinatorClient coordinator, GlobalLockGate locks, OutstandingBranches outstanding, WrittenUndoLogs writtenUndo, AtProxyOptions options, AtProxyMetrics metrics, ILogger logger)
{
    /// <summary>Runs between branch registration and the undo insert; lets tests widen that window.</summary>
    internal Func<string, long, Task>? AfterBranchRegistered { get; set; }

    /// <summary>
    /// Local commit of a branch: <see cref="PrepareAsync"/>, then commit. Anything failing leaves the
    /// local transaction rolled back and raises the matching exception.
    /// </summary>
    public async Task CommitAsync(LocalTransactionBranch branch, CancellationToken cancellationToken, int? lockRetries = null)
    {
        long? branchId = null;
        try
        {
            branchId = await PrepareAsync(branch, cancellationToken, lockRetries, commitWithUndo: true).ConfigureAwait(false);
            if (branchId is null)
            {
                // A GlobalLock scope wrote no undo row for the COMMIT to go with.
                await branch.Transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            CrashPoints.Reach(CrashPoints.AfterLocalCommit);
        }
        catch (Exception ex)
        {
            try
            {
                await branch.Transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception rollbackError) when (rollbackError is DbException or InvalidOperationException)
            {
                // The connection may be broken; the server rolls back on its own.
            }
            if (branchId is { } registered && branch.Xid is { } xid)
            {
                await ReportPhaseOneFailedAsync(xid, registered).ConfigureAwait(false);
            }
            throw Translate(ex, branch, branchId);
        }
    }

    /// <summary>
    /// Everything a local commit needs before the database's own COMMIT: register the branch with its
    /// lock keys (retrying with back-off while another global transaction holds one) and write its undo
    /// records in the same local transaction; in a GlobalLock scope, only check the locks. Returns the
    /// branch id (null in a GlobalLock scope). The caller commits, and on failure rolls back and calls
    /// <see cref="CommitFailedAsync"/> — unless <paramref name="commitWithUndo"/> asked for the
    /// COMMIT to go in the undo insert's round trip, which then has committed the branch.
    /// </summary>
    public async Task<long?> PrepareAsync(LocalTransactionBranch branch, CancellationToken cancellationToken,
        int? lockRetries = null, bool commitWithUndo = false)
    {
        if (branch.DoomedBy is { } doomed)
        {
            throw new AtProxyException($"This local transaction cannot commit: {doomed} Roll it back (or back to a savepoint taken before that statement) and run it again.");
        }
        var keys = branch.LockKeys();
        var retries = lockRetries ?? locks.DefaultRetries;
        if (branch.Xid is not { } xid)
        {
            await locks.CheckAsync(branch.Resource.Id, branch.Owner, keys, retries, $"a GlobalLock scope gave up waiting for it. {GlobalLockGate.NothingCommitted}", cancellationToken)
                .ConfigureAwait(false);
            return null;
        }

        using var activity = AtProxyTelemetry.Start("atproxy.branch.phase1", xid);
        activity?.SetTag(AtProxyTelemetry.ResourceTag, branch.Resource.Id);
        activity?.SetTag("atproxy.lock_keys", keys.Count);
        long? branchId = null;
        try
        {
            await branch.Resource.EnsureUndoLogAsync(cancellationToken).ConfigureAwait(false);
            using (var register = AtProxyTelemetry.Start("atproxy.branch.register", xid, ActivityKind.Client))
            {
                var request = new RegisterBranchRequest
                {
                    Xid = xid, ResourceId = branch.Resource.Id, ApplicationId = options.ApplicationId,
                    ResourceIdentity = branch.Resource.Identity?.Id ?? "",
                    // Sent again unchanged when the answer is lost, so the coordinator registers one branch, not two.
                    RequestId = Guid.NewGuid().ToString("N"),
                };
                request.LockKeys.AddRange(keys);
                var registering = Stopwatch.GetTimestamp();
                branchId = await locks.RegisterAsync(request, retries, cancellationToken).ConfigureAwait(false);
                metrics.BranchRegistered(branch.Resource.Id, registering);
                register?.SetTag(AtProxyTelemetry.BranchIdTag, branchId);
            }
            outstanding.Add(branch.Resource, xid, branchId.Value);
            CrashPoints.Reach(CrashPoints.AfterBranchRegistered);
            activity?.SetTag(AtProxyTelemetry.BranchIdTag, branchId);
            if (AfterBranchRegistered is { } hook)
            {
                await hook(xid, branchId.Value).ConfigureAwait(false);
            }
            var log = new BranchUndoLog { Xid = xid, BranchId = branchId.Value };
            log.Records.AddRange(branch.Records);
            var (bytes, context) = UndoLogCodec.Encode(log, options.UndoCompressionThreshold);
            await branch.Resource.UndoLog.InsertAsync(branch.Connection, branch.Transaction, xid, branchId.Value, bytes, context, UndoLogStatus.Normal, commitWithUndo, cancellationToken)
                .ConfigureAwait(false);
            writtenUndo.Add(xid, branchId.Value, bytes, context, log);
            metrics.UndoWritten(branch.Resource.Id, bytes.Length);
            return branchId;
        }
        catch (Exception ex)
        {
            AtProxyTelemetry.Fail(activity, ex);
            if (branchId is { } registered)
            {
                // The caller rolls back; the coordinator must not wait for this branch's phase 1.
                await ReportPhaseOneFailedAsync(xid, registered).ConfigureAwait(false);
            }
            throw Translate(ex, branch, branchId);
        }
    }

    /// <summary>The database refused the COMMIT after <see cref="PrepareAsync"/> succeeded.</summary>
    public Task CommitFailedAsync(LocalTransactionBranch branch, long? branchId) =>
        branchId is { } id && branch.Xid is { } xid ? ReportPhaseOneFailedAsync(xid, id) : Task.CompletedTask;

    private static Exception Translate(Exception ex, LocalTransactionBranch branch, long? branchId) =>
        ex is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: UndoLogTables.BranchKeyConstraint } && branch.Xid is { } xid
            // The coordinator already rolled this branch back and left its marker (a unique violation
            // of the application's own, e.g. a deferred constraint checked at COMMIT, stays as it is).
            ? new GlobalTransactionException(
                $"Global transaction {xid} was rolled back before branch {branchId} could commit locally; nothing of the branch was kept.",
                xid, GlobalTransactionStatus.Rollbacking, ex)
            : ex;

    private async Task ReportPhaseOneFailedAsync(string xid, long branchId)
    {
        outstanding.Settle(xid, branchId);
        writtenUndo.Forget(xid, branchId);
        try
        {
            await coordinator.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = branchId, Status = BranchStatus.PhaseOneFailed }, CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (AtProxyException ex)
        {
            // The coordinator will roll the branch back; the rollback finds no undo row and leaves a marker.
            logger.LogWarning(ex, "Could not report the failed phase 1 of branch {BranchId} of {Xid}", branchId, xid);
        }
    }
}
