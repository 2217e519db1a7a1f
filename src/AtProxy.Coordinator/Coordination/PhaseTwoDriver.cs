using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// Drives phase 2 of a decided transaction: every branch not yet done gets its command
/// (commit in registration order, rollback in reverse), each answer is recorded, and the
/// transaction ends when all are done. A retryable failure stops the attempt, moves the
/// transaction to its retrying status and schedules the next attempt with back-off; an
/// unretryable one stops it in COMMIT_FAILED or ROLLBACK_FAILED for a person to decide.
/// At most one attempt runs per transaction at a time.
/// </summary>
internal sealed class PhaseTwoDriver(
    ResourceManagerHub hub,
    SessionChanges changes,
    IOptions<CoordinatorOptions> options,
    CoordinatorMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<PhaseTwoDriver> logger)
{
    private readonly CoordinatorOptions _options = options.Value;

    /// <summary>Starts an attempt unless one is running; returns the running attempt.</summary>
    public Task RunAsync(GlobalSession session)
    {
        lock (session)
        {
            if (session.PhaseTwoRun is { IsCompleted: false } running)
            {
                return running;
            }
            var run = Task.Run(() => AttemptAsync(session));
            session.PhaseTwoRun = run;
            return run;
        }
    }

    /// <summary>True while an attempt for the transaction is running.</summary>
    public static bool IsRunning(GlobalSession session)
    {
        lock (session)
        {
            return session.PhaseTwoRun is { IsCompleted: false };
        }
    }

    private async Task AttemptAsync(GlobalSession session)
    {
        try
        {
            await AttemptCoreAsync(session);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Shutting down: the decision is durable, and phase 2 resumes after the restart.
        }
        catch (Exception ex)
        {
            session.NextAttemptUnixMs = changes.NowUnixMs + RetryBackoff.DelayMs(_options, ++session.FailuresInARow);
            Log.PhaseTwoAttemptCrashed(logger, ex, session.Xid);
        }
    }

    private async Task AttemptCoreAsync(GlobalSession session)
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
            return;
        }
        session.Attempts++;
        var commit = GlobalStatusRules.IsCommitDirection(status);
        var action = commit ? BranchAction.Commit : BranchAction.Rollback;
        var timeout = TimeSpan.FromMilliseconds(_options.BranchCommandTimeoutMs);
        var stopping = lifetime.ApplicationStopping;

        if (commit)
        {
            await CommitBranchesAsync(session, status, branches, timeout, stopping);
            return;
        }

        // Rollback: one branch after the other, newest first, each recorded as it is done.
        for (var i = branches.Length - 1; i >= 0; i--)
        {
            var branch = branches[i];
            if (BranchStatusRules.IsDone(branch.Status))
            {
                continue;
            }
            var outcome = await hub.SendAsync(action, session.Xid, branch.BranchId, branch.ResourceId, timeout, stopping);
            switch (outcome.Verdict)
            {
                case BranchCommandVerdict.Succeeded:
                    if (!await RecordBranchAsync(session, status, branch, outcome))
                    {
                        return;
                    }
                    break;
                case BranchCommandVerdict.Retryable:
                    await ScheduleRetryAsync(session, status, [(branch, outcome)]);
                    return;
                default:
                    await StopAsync(session, status, [(branch, outcome)], commit: false);
                    return;
            }
        }
        await CompleteAsync(session, status, []);
    }

    // Commit: the order does not matter and the locks are gone already, so every branch is
    // asked at once; when all succeed, the final status alone is recorded (it implies theirs).
    private async Task CommitBranchesAsync(GlobalSession session, GlobalStatus status, BranchSession[] branches, TimeSpan timeout, CancellationToken stopping)
    {
        var pending = branches.Where(b => !BranchStatusRules.IsDone(b.Status)).ToArray();
        var outcomes = await Task.WhenAll(pending.Select(b => hub.SendAsync(BranchAction.Commit, session.Xid, b.BranchId, b.ResourceId, timeout, stopping)));
        if (outcomes.All(o => o.Verdict == BranchCommandVerdict.Succeeded))
        {
            await CompleteAsync(session, status, pending);
            return;
        }
        var results = pending.Zip(outcomes).ToList();
        if (results.Any(r => r.Second.Verdict == BranchCommandVerdict.Unretryable))
        {
            await StopAsync(session, status, results, commit: true);
        }
        else
        {
            await ScheduleRetryAsync(session, status, results);
        }
    }

    // Records a branch outcome unless someone else changed the transaction meanwhile.
    private async Task<bool> RecordBranchAsync(GlobalSession session, GlobalStatus expected, BranchSession branch, BranchCommandOutcome outcome)
    {
        await session.Gate.WaitAsync();
        try
        {
            if (session.Status != expected || branch.Forgotten)
            {
                return session.Status == expected;
            }
            if (branch.Status != outcome.Status || branch.LastError != outcome.Message)
            {
                await changes.ChangeBranchAsync(session, branch, outcome.Status, outcome.Message);
            }
            return true;
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private async Task ScheduleRetryAsync(GlobalSession session, GlobalStatus expected, IReadOnlyList<(BranchSession Branch, BranchCommandOutcome Outcome)> results)
    {
        await session.Gate.WaitAsync();
        try
        {
            if (session.Status != expected)
            {
                return;
            }
            await RecordOutcomesAsync(session, results);
            var (branch, failure) = results.First(r => r.Outcome.Verdict != BranchCommandVerdict.Succeeded);
            var retrying = GlobalStatusRules.RetryingStatusOf(expected);
            if (expected != retrying)
            {
                await changes.ChangeStatusAsync(session, retrying, failure.Message);
            }
            // A resource manager that subscribed since the command found none is used at once.
            var delay = failure.NoResourceManager && hub.IsConnected(branch.ResourceId) ? 0 : RetryBackoff.DelayMs(_options, ++session.FailuresInARow);
            session.NextAttemptUnixMs = changes.NowUnixMs + delay;
            metrics.PhaseTwoRetry();
            Log.PhaseTwoRetryScheduled(logger, session.Xid, branch.BranchId, branch.ResourceId, delay, failure.Message);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private async Task StopAsync(GlobalSession session, GlobalStatus expected, IReadOnlyList<(BranchSession Branch, BranchCommandOutcome Outcome)> results, bool commit)
    {
        await session.Gate.WaitAsync();
        try
        {
            if (session.Status != expected)
            {
                return;
            }
            await RecordOutcomesAsync(session, results);
            var (branch, failure) = results.First(r => r.Outcome.Verdict == BranchCommandVerdict.Unretryable);
            var stopped = commit ? GlobalStatus.CommitFailed : GlobalStatus.RollbackFailed;
            await changes.ChangeStatusAsync(session, stopped, $"branch {branch.BranchId} ({branch.ResourceId}): {failure.Message}");
            Log.PhaseTwoStopped(logger, session.Xid, StatusNames.Of(stopped), branch.BranchId, branch.ResourceId, failure.Message);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    // Caller holds the gate. Only changes are written, so a long outage does not grow the log.
    private async Task RecordOutcomesAsync(GlobalSession session, IReadOnlyList<(BranchSession Branch, BranchCommandOutcome Outcome)> results)
    {
        var writes = new List<Task>(results.Count);
        foreach (var (branch, outcome) in results)
        {
            if (!branch.Forgotten && (branch.Status != outcome.Status || branch.LastError != outcome.Message))
            {
                writes.Add(changes.ChangeBranchAsync(session, branch, outcome.Status, outcome.Message));
            }
        }
        await Task.WhenAll(writes);
    }

    // Completes phase 2; succeededNow are branches whose success this attempt did not record one by one.
    private async Task CompleteAsync(GlobalSession session, GlobalStatus expected, BranchSession[] succeededNow)
    {
        await session.Gate.WaitAsync();
        try
        {
            if (session.Status != expected)
            {
                return;
            }
            var branches = session.Branches();
            if (branches.Any(b => !BranchStatusRules.IsDone(b.Status) && !succeededNow.Contains(b)))
            {
                // A branch changed under the attempt (e.g. reported after it was read): try again now.
                session.NextAttemptUnixMs = 0;
                return;
            }
            var ended = branches.Any(b => b.Forgotten) ? GlobalStatus.Finished : GlobalStatusRules.CompletedStatusOf(expected);
            await changes.ChangeStatusAsync(session, ended, ended == GlobalStatus.Finished ? "phase 2 done; a person forgot at least one branch" : "");
            Log.PhaseTwoCompleted(logger, session.Xid, StatusNames.Of(ended), branches.Length, session.Attempts);
        }
        finally
        {
            session.Gate.Release();
        }
    }
}
