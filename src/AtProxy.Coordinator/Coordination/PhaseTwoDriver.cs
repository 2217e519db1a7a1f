using AtProxy.Coordinator.Alerts;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
using AtProxy.Protocol.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// Drives phase 2 of a decided transaction: every branch not yet done gets its command
/// (commit all at once; rollback in reverse order on each database, the databases at once), each answer is recorded, and the
/// transaction ends when all are done. A retryable failure stops the attempt, moves the
/// transaction to its retrying status and schedules the next attempt with back-off, until the
/// retry budget of its direction runs out (<see cref="CoordinatorOptions.MaxCommitRetryMs"/>,
/// <see cref="CoordinatorOptions.MaxRollbackRetryMs"/>): then it stops in COMMIT_RETRY_TIMEOUT or
/// ROLLBACK_RETRY_TIMEOUT. An unretryable one stops it in COMMIT_FAILED or ROLLBACK_FAILED. A
/// stopped transaction raises an alert and waits for a person.
/// At most one attempt runs per transaction at a time: in this process by the run table, across
/// coordinators sharing a store by the store's claim (a lease renewed while the attempt runs).
/// </summary>
internal sealed class PhaseTwoDriver(
    ICoordinatorStore store,
    ResourceManagerHub hub,
    SessionChanges changes,
    IOptions<CoordinatorOptions> options,
    CoordinatorMetrics metrics,
    CoordinatorAlerts alerts,
    BranchFailureCounts failureCounts,
    IHostApplicationLifetime lifetime,
    ILogger<PhaseTwoDriver> logger)
{
    private readonly CoordinatorOptions _options = options.Value;
    private readonly Dictionary<string, Run> _runs = new(StringComparer.Ordinal);

    // One transaction's attempts in this process. AgainDueBy is set by a kick that arrived while
    // an attempt ran: that attempt may have read the transaction before the change that kicked
    // (an operator's retry while the attempt that stopped it was still letting its claim go),
    // so one more attempt follows it instead of leaving the work to the next sweep. It is due by
    // the kick's time: if the running attempt saw the change after all and scheduled its next try
    // with back-off, the follow-up finds it not due and leaves the back-off alone.
    private sealed class Run
    {
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long? AgainDueBy;
    }

    /// <summary>Starts an attempt unless one is running here; returns the running attempt.</summary>
    /// <param name="xid">The transaction.</param>
    /// <param name="dueByUnixMs">Set by the background loop: see <see cref="ICoordinatorStore.ClaimPhaseTwoAsync"/>.
    /// Without it (a decision or an operator's change just made) an attempt already running here is followed by another, if due by then.</param>
    public Task RunAsync(string xid, long? dueByUnixMs = null)
    {
        Run run;
        lock (_runs)
        {
            if (_runs.TryGetValue(xid, out var running))
            {
                if (dueByUnixMs is null)
                {
                    running.AgainDueBy = changes.NowUnixMs;
                }
                return running.Done.Task;
            }
            run = new Run();
            _runs[xid] = run;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await AttemptAsync(xid, dueByUnixMs);
                    lock (_runs)
                    {
                        if (run.AgainDueBy is not { } again || lifetime.ApplicationStopping.IsCancellationRequested)
                        {
                            _runs.Remove(xid);
                            break;
                        }
                        run.AgainDueBy = null;
                        dueByUnixMs = again;
                    }
                }
            }
            finally
            {
                lock (_runs)
                {
                    if (_runs.TryGetValue(xid, out var current) && current == run)
                    {
                        _runs.Remove(xid);
                    }
                }
                run.Done.SetResult();
            }
        });
        return run.Done.Task;
    }

    /// <summary>True while an attempt for the transaction is running in this process.</summary>
    public bool IsRunning(string xid)
    {
        lock (_runs)
        {
            return _runs.ContainsKey(xid);
        }
    }

    private async Task AttemptAsync(string xid, long? dueByUnixMs)
    {
        var stopping = lifetime.ApplicationStopping;
        GlobalSession? session;
        try
        {
            session = await store.ClaimPhaseTwoAsync(xid, dueByUnixMs);
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            Log.PhaseTwoAttemptCrashed(logger, ex, xid);
            return; // the next sweep tries again
        }
        if (session is null)
        {
            return; // not in phase 2, not due any more, or another coordinator is driving it
        }
        metrics.PhaseTwoAttempt();
        using var claimLost = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var renewal = store.IsShared ? new ClaimRenewal(store, xid, TimeSpan.FromMilliseconds(_options.LeaseMs / 3.0), claimLost) : null;
        var ended = false;
        try
        {
            ended = await AttemptCoreAsync(session, claimLost.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: the decision is durable, and phase 2 resumes after the restart (or on another coordinator).
        }
        catch (OperationCanceledException) when (claimLost.IsCancellationRequested)
        {
            // The claim expired and another coordinator took the transaction over.
        }
        catch (StoreConflictException)
        {
            // Another coordinator changed the transaction meanwhile (nothing of this attempt's last change was written): look again now.
            await ScheduleAfterCrashAsync(xid, again: true);
        }
        catch (Exception ex)
        {
            Log.PhaseTwoAttemptCrashed(logger, ex, xid);
            await ScheduleAfterCrashAsync(xid);
        }
        finally
        {
            if (renewal is not null)
            {
                await renewal.DisposeAsync();
            }
            try
            {
                if (!ended)
                {
                    await store.ReleaseClaimAsync(xid); // an ended transaction gave its claim up with its last change
                }
            }
            catch (Exception ex)
            {
                // The lease runs out by itself.
                Log.PhaseTwoAttemptCrashed(logger, ex, xid);
            }
        }
    }

    private async Task ScheduleAfterCrashAsync(string xid, bool again = false)
    {
        try
        {
            await using var scope = await store.LockAsync(xid);
            if (scope is not null)
            {
                scope.Session.NextAttemptUnixMs = again ? 0 : changes.NowUnixMs + RetryBackoff.DelayMs(_options, ++scope.Session.FailuresInARow);
                await scope.SaveScheduleAsync();
            }
        }
        catch (Exception ex)
        {
            Log.PhaseTwoAttemptCrashed(logger, ex, xid);
        }
    }

    // True when the attempt ended the transaction.
    private async Task<bool> AttemptCoreAsync(GlobalSession session, CancellationToken stopping)
    {
        GlobalStatus status;
        BranchSession[] branches;
        lock (session)
        {
            status = session.Status;
            branches = [.. session.BranchesUnsafe];
        }
        if (!GlobalStatusRules.IsPhaseTwoInProgress(status))
        {
            return false;
        }
        var commit = GlobalStatusRules.IsCommitDirection(status);
        var timeout = TimeSpan.FromMilliseconds(_options.BranchCommandTimeoutMs);

        if (commit)
        {
            return await CommitBranchesAsync(session, status, branches, timeout, stopping);
        }

        // Rollback: the branches on one database one after the other, newest first (a later branch
        // may have written rows an earlier one wrote too, so their restores must run in reverse);
        // different databases at once, since the transaction's locks wait for the slowest of them.
        var lanes = branches.Where(b => !BranchStatusRules.IsDone(b.Status)).Reverse().GroupBy(DatabaseOf).ToArray();
        var ends = await Task.WhenAll(lanes.Select(lane => RollbackLaneAsync(session, status, lane, timeout, stopping)));
        if (ends.Any(end => end.Abandoned))
        {
            return false;
        }
        var failures = ends.Where(end => end.Failure is not null).Select(end => end.Failure!.Value).ToList();
        if (failures.Count == 0)
        {
            return await CompleteAsync(session, status, []);
        }
        if (failures.Any(f => f.Outcome.Verdict == BranchCommandVerdict.Unretryable))
        {
            await StopAsync(session.Xid, status, failures, commit: false);
        }
        else
        {
            await ScheduleRetryAsync(session.Xid, status, failures);
        }
        return false;
    }

    // The database a branch wrote: its identity, which two resource ids over one database share.
    // Branches of older clients (no identity) are all taken as one database, one after the other.
    private static string DatabaseOf(BranchSession branch) => branch.ResourceIdentity;

    /// <summary>How one database's rollbacks ended: all done, stopped at a failed branch, or abandoned (the transaction changed meanwhile).</summary>
    private readonly record struct LaneEnd(bool Abandoned, (BranchSession Branch, BranchCommandOutcome Outcome)? Failure);

    // One database's branches, newest first, each recorded as it is done; stops at the first that fails.
    private async Task<LaneEnd> RollbackLaneAsync(GlobalSession session, GlobalStatus status, IEnumerable<BranchSession> lane, TimeSpan timeout, CancellationToken stopping)
    {
        foreach (var branch in lane)
        {
            var outcome = await hub.SendAsync(BranchAction.Rollback, session.Xid, branch.BranchId, branch.ResourceId, branch.ResourceIdentity, timeout, stopping);
            CrashPoints.Reach(CrashPoints.RollbackCommandSent);
            stopping.ThrowIfCancellationRequested();
            if (outcome.Verdict != BranchCommandVerdict.Succeeded)
            {
                return new LaneEnd(Abandoned: false, (branch, outcome));
            }
            if (!await RecordBranchAsync(session.Xid, status, branch, outcome))
            {
                return new LaneEnd(Abandoned: true, null);
            }
        }
        return new LaneEnd(Abandoned: false, null);
    }

    // Commit: the order does not matter and the locks are gone already, so every branch is
    // asked at once; when all succeed, the final status alone is recorded (it implies theirs).
    private async Task<bool> CommitBranchesAsync(GlobalSession session, GlobalStatus status, BranchSession[] branches, TimeSpan timeout, CancellationToken stopping)
    {
        var pending = branches.Where(b => !BranchStatusRules.IsDone(b.Status)).ToArray();
        var outcomes = await Task.WhenAll(pending.Select(b => hub.SendAsync(BranchAction.Commit, session.Xid, b.BranchId, b.ResourceId, b.ResourceIdentity, timeout, stopping)));
        CrashPoints.Reach(CrashPoints.CommitCommandsSent);
        stopping.ThrowIfCancellationRequested();
        if (outcomes.All(o => o.Verdict == BranchCommandVerdict.Succeeded))
        {
            return await CompleteAsync(session, status, pending);
        }
        var results = pending.Zip(outcomes).ToList();
        if (results.Any(r => r.Second.Verdict == BranchCommandVerdict.Unretryable))
        {
            await StopAsync(session.Xid, status, results, commit: true);
        }
        else
        {
            await ScheduleRetryAsync(session.Xid, status, results);
        }
        return false;
    }

    // Records a branch's rollback unless someone else changed the transaction meanwhile. It releases
    // nothing, and losing it in a crash only sends the branch its rollback again, which the resource
    // manager answers without touching data (its undo row is gone): so it is made durable with the
    // transaction's next change (the next branch's, or the final status, whose flush the caller waits
    // for) instead of costing each branch a flush of its own on the rolled-back rows' lock hold.
    private async Task<bool> RecordBranchAsync(string xid, GlobalStatus expected, BranchSession sent, BranchCommandOutcome outcome)
    {
        await using var scope = await store.LockAsync(xid);
        if (scope is null)
        {
            return false;
        }
        var session = scope.Session;
        var branch = session.FindBranch(sent.BranchId);
        if (session.Status != expected || branch is null || branch.Forgotten)
        {
            return session.Status == expected;
        }
        if (branch.Status != outcome.Status || branch.LastError != outcome.Message)
        {
            await changes.ChangeBranchAsync(scope, branch, outcome.Status, outcome.Message, durableWithNext: true);
        }
        return true;
    }

    private async Task ScheduleRetryAsync(string xid, GlobalStatus expected, IReadOnlyList<(BranchSession Branch, BranchCommandOutcome Outcome)> results)
    {
        await using var scope = await store.LockAsync(xid);
        if (scope is null || scope.Session.Status != expected)
        {
            return;
        }
        var session = scope.Session;
        await RecordOutcomesAsync(scope, results);
        var (branch, failure) = results.First(r => r.Outcome.Verdict != BranchCommandVerdict.Succeeded);
        foreach (var (failed, outcome) in results.Where(r => r.Outcome.Verdict != BranchCommandVerdict.Succeeded))
        {
            alerts.BranchFailed(session, failed, outcome.Message);
        }
        var now = changes.NowUnixMs;
        var budgetMs = GlobalStatusRules.IsCommitDirection(expected) ? _options.MaxCommitRetryMs : _options.MaxRollbackRetryMs;
        var budgetEndsUnixMs = budgetMs == CoordinatorOptions.RetryForever ? long.MaxValue : session.PhaseTwoSinceUnixMs + budgetMs;
        if (now >= budgetEndsUnixMs)
        {
            await TimeOutRetriesAsync(scope, expected, budgetMs, branch, failure);
            return;
        }
        var retrying = GlobalStatusRules.RetryingStatusOf(expected);
        if (expected != retrying)
        {
            await changes.ChangeStatusAsync(scope, retrying, failure.Message);
        }
        // A resource manager that subscribed since the command found none is used at once. The last
        // attempt is made when the budget runs out, not a whole back-off after it.
        var delay = failure.NoResourceManager && hub.IsConnected(branch.ResourceId) ? 0 : RetryBackoff.DelayMs(_options, ++session.FailuresInARow);
        delay = Math.Min(delay, budgetEndsUnixMs - now);
        session.NextAttemptUnixMs = now + delay;
        await scope.SaveScheduleAsync();
        metrics.PhaseTwoRetry();
        Log.PhaseTwoRetryScheduled(logger, session.Xid, branch.BranchId, branch.ResourceId, delay, failure.Message);
    }

    // Caller holds the scope. Retries stop; a rollback's locks stay held, its rows as they are.
    private async Task TimeOutRetriesAsync(ISessionScope scope, GlobalStatus expected, long budgetMs, BranchSession branch, BranchCommandOutcome failure)
    {
        var session = scope.Session;
        var stopped = GlobalStatusRules.RetryTimeoutStatusOf(expected);
        var budget = $"{(GlobalStatusRules.IsCommitDirection(expected) ? "MaxCommitRetryMs" : "MaxRollbackRetryMs")} = {budgetMs} ms";
        await changes.ChangeStatusAsync(scope, stopped,
            $"phase-2 retries ran past {budget}; last failure: branch {branch.BranchId} ({branch.ResourceId}): {failure.Message}");
        session.NextAttemptUnixMs = 0;
        session.FailuresInARow = 0;
        await scope.SaveScheduleAsync();
        var locksHeld = !GlobalStatusRules.ReleasesLocks(stopped);
        Log.PhaseTwoRetryTimedOut(logger, session.Xid, StatusNames.Of(stopped), budgetMs, branch.BranchId, branch.ResourceId, failure.Message, locksHeld);
        alerts.Raise(CoordinatorAlertKind.RetryTimeout, session,
            $"phase-2 retries ran past {budget} and stopped in {StatusNames.Of(stopped)}" +
            (locksHeld ? " with its locks held" : "") + $"; last failure: branch {branch.BranchId} on {branch.ResourceId}: {failure.Message}");
    }

    private async Task StopAsync(string xid, GlobalStatus expected, IReadOnlyList<(BranchSession Branch, BranchCommandOutcome Outcome)> results, bool commit)
    {
        await using var scope = await store.LockAsync(xid);
        if (scope is null || scope.Session.Status != expected)
        {
            return;
        }
        await RecordOutcomesAsync(scope, results);
        var (branch, failure) = results.First(r => r.Outcome.Verdict == BranchCommandVerdict.Unretryable);
        var stopped = commit ? GlobalStatus.CommitFailed : GlobalStatus.RollbackFailed;
        await changes.ChangeStatusAsync(scope, stopped, $"branch {branch.BranchId} ({branch.ResourceId}): {failure.Message}");
        Log.PhaseTwoStopped(logger, xid, StatusNames.Of(stopped), branch.BranchId, branch.ResourceId, failure.Message);
        alerts.Raise(commit ? CoordinatorAlertKind.CommitFailed : CoordinatorAlertKind.RollbackFailed, scope.Session,
            $"branch {branch.BranchId} on {branch.ResourceId} cannot {(commit ? "commit" : "roll back")}: {failure.Message}; stopped in {StatusNames.Of(stopped)}" +
            (commit ? "" : " with its locks held") + "; a person must decide");
    }

    // Only changes are written, so a long outage does not grow the log.
    private async Task RecordOutcomesAsync(ISessionScope scope, IReadOnlyList<(BranchSession Branch, BranchCommandOutcome Outcome)> results)
    {
        var writes = new List<Task>(results.Count);
        foreach (var (sent, outcome) in results)
        {
            if (outcome.Verdict != BranchCommandVerdict.Succeeded)
            {
                failureCounts.Failed(scope.Session.Xid, sent.BranchId);
            }
            var branch = scope.Session.FindBranch(sent.BranchId);
            if (branch is not null && !branch.Forgotten && (branch.Status != outcome.Status || branch.LastError != outcome.Message))
            {
                writes.Add(changes.ChangeBranchAsync(scope, branch, outcome.Status, outcome.Message));
            }
        }
        await Task.WhenAll(writes);
    }

    // Completes phase 2; succeededNow are branches whose success this attempt did not record one by one.
    private async Task<bool> CompleteAsync(GlobalSession attempted, GlobalStatus expected, BranchSession[] succeededNow)
    {
        await using var scope = await store.LockAsync(attempted.Xid);
        if (scope is null || scope.Session.Status != expected)
        {
            return false;
        }
        var session = scope.Session;
        var branches = session.Branches();
        if (branches.Any(b => !BranchStatusRules.IsDone(b.Status) && !succeededNow.Any(s => s.BranchId == b.BranchId)))
        {
            // A branch changed under the attempt (e.g. reported after it was read): try again now.
            session.NextAttemptUnixMs = 0;
            await scope.SaveScheduleAsync();
            return false;
        }
        var ended = branches.Any(b => b.Forgotten) ? GlobalStatus.Finished : GlobalStatusRules.CompletedStatusOf(expected);
        await changes.ChangeStatusAsync(scope, ended, ended == GlobalStatus.Finished ? "phase 2 done; a person forgot at least one branch" : "");
        alerts.ForgetFailures(session.Xid);
        failureCounts.Forget(session.Xid, branches.Select(b => b.BranchId));
        Log.PhaseTwoCompleted(logger, session.Xid, StatusNames.Of(ended), branches.Length, attempted.Attempts);
        return true;
    }
}
