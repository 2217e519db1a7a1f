using System.Diagnostics;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Diagnostics;
using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;
using AtProxy.Transactions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// The decisions of the application-facing calls: begin, register and report branches, check
/// locks, commit, roll back, status. Each change is made in a scope that holds the transaction
/// (against every coordinator sharing the store) and is durable before it is answered or acted on.
/// </summary>
internal sealed class TransactionCoordinator(
    ICoordinatorStore store,
    SessionChanges changes,
    PhaseTwoDriver driver,
    IOptions<CoordinatorOptions> options,
    CoordinatorMetrics metrics,
    ILogger<TransactionCoordinator> logger)
{
    private readonly CoordinatorOptions _options = options.Value;

    public async Task<BeginResponse> BeginAsync(BeginRequest request)
    {
        RequestValidation.RequireId(request.ApplicationId, "application_id");
        if (request.Name.Length > RequestValidation.MaxNameLength)
        {
            throw CoordinatorErrors.InvalidArgument($"name is {request.Name.Length} characters long; at most {RequestValidation.MaxNameLength} are allowed.");
        }
        var timeout = RequestValidation.EffectiveTimeout(request.TimeoutMs, _options);
        var sequence = await store.NextTransactionSequenceAsync();
        var begun = new GlobalBegun
        {
            Xid = Xid.Format(_options.NodeId, sequence),
            Sequence = sequence,
            Name = request.Name,
            ApplicationId = request.ApplicationId,
            BeginTimeUnixMs = changes.NowUnixMs,
            TimeoutMs = timeout,
        };
        await store.BeginAsync(begun);
        metrics.Begun();
        Log.Begun(logger, begun.Xid, begun.Name, begun.ApplicationId, timeout);
        return new BeginResponse { Xid = begun.Xid, BeginTimeUnixMs = begun.BeginTimeUnixMs, TimeoutMs = timeout };
    }

    /// <param name="request">The registration; with <c>wait_ms</c>, a conflict is waited out here (see below).</param>
    /// <param name="callEnds">When the caller stops waiting: a wait for a held key ends then, answering the conflict.</param>
    public async Task<RegisterBranchResponse> RegisterBranchAsync(RegisterBranchRequest request, CancellationToken callEnds)
    {
        RequestValidation.RequireXid(request.Xid);
        RequestValidation.RequireId(request.ResourceId, "resource_id");
        RequestValidation.RequireId(request.ApplicationId, "application_id", required: false);
        RequestValidation.RequireId(request.ResourceIdentity, "resource_identity", required: false);
        RequestValidation.RequireId(request.RequestId, "request_id", required: false, maxLength: RequestValidation.MaxRequestIdLength);
        if (request.WaitMs > MaxLockWaitMs)
        {
            throw CoordinatorErrors.InvalidArgument($"wait_ms is {request.WaitMs}; at most {MaxLockWaitMs} ms may be waited for a lock.");
        }
        var keys = RequestValidation.LockKeys(request.ResourceId, request.LockKeys, _options.MaxLockKeysPerBranch);
        var (answer, heldKey) = await RegisterOnceAsync(request, keys);
        if (heldKey is null || request.WaitMs == 0 || answer.Conflict.HolderRollingBack)
        {
            return answer;
        }
        // Waited out here rather than by the client (a lock check, then a second registration): the
        // registration is retried the moment the key is released, in this process, holding nothing
        // meanwhile. A holder that turns to rolling back is answered at once: the waiter holds, in its
        // local transaction, the row that rollback must restore.
        var waited = Stopwatch.StartNew();
        while (heldKey is not null && !answer.Conflict.HolderRollingBack && waited.ElapsedMilliseconds < request.WaitMs && !callEnds.IsCancellationRequested)
        {
            await store.WaitForReleaseAsync(heldKey.Value, TimeSpan.FromMilliseconds(Math.Max(0, request.WaitMs - waited.ElapsedMilliseconds)), callEnds);
            (answer, heldKey) = await RegisterOnceAsync(request, keys);
        }
        metrics.LockWaited(waited.Elapsed, acquirable: heldKey is null);
        answer.Waited = true;
        return answer;
    }

    // One try: the branch registered with every key, or the first key another transaction holds (and nothing acquired).
    private async Task<(RegisterBranchResponse Answer, LockKeyId? HeldKey)> RegisterOnceAsync(RegisterBranchRequest request, LockKeyId[] keys)
    {
        await using var scope = await LockAsync(request.Xid);
        var session = scope.Session;
        if (session.Status != GlobalStatus.Begin)
        {
            throw CoordinatorErrors.NotBegin(session, session.Status, "register a branch");
        }
        if (changes.NowUnixMs >= session.DeadlineUnixMs)
        {
            throw CoordinatorErrors.TimedOut(session, "register a branch");
        }
        if (request.RequestId.Length > 0 && Array.Find(session.Branches(), b => b.RequestId == request.RequestId) is { } earlier)
        {
            // The same registration sent again: its first answer was lost, its branch and locks are in place.
            return (new RegisterBranchResponse { BranchId = earlier.BranchId }, null);
        }
        var registered = new BranchRegistered
        {
            Xid = session.Xid,
            BranchId = await store.NextBranchIdAsync(),
            ResourceId = request.ResourceId,
            ApplicationId = request.ApplicationId,
            RegisteredUnixMs = changes.NowUnixMs,
            ResourceIdentity = request.ResourceIdentity,
            RequestId = request.RequestId,
        };
        if (keys.Length == request.LockKeys.Count)
        {
            registered.LockKeys.Add(request.LockKeys);
        }
        else
        {
            registered.LockKeys.Add(keys.Select(k => new LockKey { Table = k.Table, PrimaryKey = k.PrimaryKey }));
        }
        var conflict = await scope.RegisterBranchAsync(new BranchRegistration(registered, keys));
        if (conflict is not null)
        {
            metrics.LockConflict();
            Log.LockConflict(logger, session.Xid, request.ResourceId, conflict.Key.Table, conflict.Key.PrimaryKey, conflict.Holder.Xid);
            return (new RegisterBranchResponse { Conflict = await ToConflictAsync(conflict) }, conflict.Key);
        }
        Log.BranchRegistered(logger, session.Xid, registered.BranchId, request.ResourceId, keys.Length);
        return (new RegisterBranchResponse { BranchId = registered.BranchId }, null);
    }

    public async Task ReportBranchAsync(ReportBranchRequest request)
    {
        RequestValidation.RequireXid(request.Xid);
        if (request.Status is not (BranchStatus.PhaseOneDone or BranchStatus.PhaseOneFailed))
        {
            throw CoordinatorErrors.InvalidArgument($"status {request.Status} cannot be reported; only PHASE_ONE_DONE or PHASE_ONE_FAILED.");
        }
        await using var scope = await LockAsync(request.Xid);
        var session = scope.Session;
        var branch = session.FindBranch(request.BranchId) ?? throw CoordinatorErrors.UnknownBranch(request.Xid, request.BranchId);
        if (branch.Status == request.Status)
        {
            return; // a repeated report
        }
        if (branch.Status != BranchStatus.Registered)
        {
            throw CoordinatorErrors.FailedPrecondition(
                $"Branch {branch.BranchId} of '{session.Xid}' is {branch.Status} already; phase 1 can only be reported for a REGISTERED branch.");
        }
        await changes.ChangeBranchAsync(scope, branch, request.Status, "");
    }

    /// <summary>The longest a lock check may wait for a release.</summary>
    public const uint MaxLockWaitMs = 10_000;

    public async Task<CheckLocksResponse> CheckLocksAsync(CheckLocksRequest request, CancellationToken callEnds)
    {
        string? xid = null;
        if (!string.IsNullOrEmpty(request.Xid))
        {
            RequestValidation.RequireXid(request.Xid);
            xid = request.Xid;
        }
        RequestValidation.RequireId(request.ResourceId, "resource_id");
        if (request.WaitMs > MaxLockWaitMs)
        {
            throw CoordinatorErrors.InvalidArgument($"wait_ms is {request.WaitMs}; at most {MaxLockWaitMs} ms may be waited for a lock.");
        }
        var keys = RequestValidation.LockKeys(request.ResourceId, request.LockKeys, _options.MaxLockKeysPerBranch);
        var conflict = await store.CheckLocksAsync(keys, xid);
        if (conflict is not null && request.WaitMs > 0)
        {
            var waited = Stopwatch.StartNew();
            while (conflict is not null && waited.ElapsedMilliseconds < request.WaitMs && !callEnds.IsCancellationRequested)
            {
                var remaining = TimeSpan.FromMilliseconds(Math.Max(0, request.WaitMs - waited.ElapsedMilliseconds));
                await store.WaitForReleaseAsync(conflict.Key, remaining, callEnds);
                conflict = await store.CheckLocksAsync(keys, xid);
                if (conflict is not null && await IsRollingBackAsync(conflict.Holder.Xid))
                {
                    break; // the asker may hold the row that rollback restores: it hears of it now
                }
            }
            metrics.LockWaited(waited.Elapsed, acquirable: conflict is null);
        }
        return conflict is null
            ? new CheckLocksResponse { Lockable = true }
            : new CheckLocksResponse { Lockable = false, Conflict = await ToConflictAsync(conflict) };
    }

    public async Task<GlobalStatus> CommitAsync(string xid)
    {
        RequestValidation.RequireXid(xid);
        var started = Stopwatch.GetTimestamp();
        GlobalStatus reached;
        await using (var scope = await LockAsync(xid))
        {
            var session = scope.Session;
            if (session.Status != GlobalStatus.Begin)
            {
                return session.Status; // decided before: the caller reads the outcome from the status
            }
            if (changes.NowUnixMs >= session.DeadlineUnixMs)
            {
                await changes.ChangeStatusAsync(scope, GlobalStatus.TimeoutRollbacking,
                    $"commit asked after the timeout of {session.TimeoutMs} ms");
                metrics.RolledBack("timeout");
                reached = GlobalStatus.TimeoutRollbacking;
            }
            else
            {
                var needsPhaseTwo = session.Branches().Any(b => !BranchStatusRules.IsDone(b.Status));
                reached = needsPhaseTwo ? GlobalStatus.AsyncCommitting : GlobalStatus.Committed;
                await changes.ChangeStatusAsync(scope, reached);
            }
        }
        CrashPoints.Reach(CrashPoints.CommitDecided);
        if (reached != GlobalStatus.TimeoutRollbacking)
        {
            metrics.Committed(Stopwatch.GetElapsedTime(started));
            Log.CommitDecided(logger, xid, StatusNames.Of(reached));
        }
        if (GlobalStatusRules.IsPhaseTwoInProgress(reached))
        {
            _ = driver.RunAsync(xid);
        }
        return reached;
    }

    /// <param name="xid">The transaction.</param>
    /// <param name="reason">The application's reason (empty: none given), recorded with the application as the actor.</param>
    /// <param name="callEnds">When the caller stops waiting.</param>
    public async Task<GlobalStatus> RollbackAsync(string xid, string reason, CancellationToken callEnds)
    {
        RequestValidation.RequireXid(xid);
        RequestValidation.RequireId(reason, "reason", required: false, maxLength: RequestValidation.MaxReasonLength);
        GlobalSession held;
        await using (var scope = await LockAsync(xid, callEnds))
        {
            var session = scope.Session;
            if (session.Status == GlobalStatus.Begin)
            {
                await changes.ChangeStatusAsync(scope, GlobalStatus.Rollbacking,
                    reason.Length > 0 ? reason : TransitionEntry.ApplicationRollbackReason, TransitionEntry.ApplicationActor(session.ApplicationId));
                metrics.RolledBack("application");
                Log.RollbackDecided(logger, xid);
            }
            // Only a rollback under way is waited for; any other status (commit decided, ended, stopped) is the answer.
            if (!GlobalStatusRules.IsPhaseTwoInProgress(session.Status) || !GlobalStatusRules.IsRollbackDirection(session.Status))
            {
                return session.Status;
            }
            held = session;
        }
        try
        {
            // Rollback answers once the branches are rolled back, or the caller stops waiting.
            await driver.RunAsync(xid).WaitAsync(callEnds);
        }
        catch (OperationCanceledException) when (callEnds.IsCancellationRequested)
        {
        }
        var status = await RollbackOutcomeAsync(held);
        // With a shared store another coordinator may hold the attempt: wait for its outcome the same way.
        while (store.IsShared && status is GlobalStatus.Rollbacking or GlobalStatus.TimeoutRollbacking && !callEnds.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.SweepIntervalMs, callEnds);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            status = await RollbackOutcomeAsync(held);
        }
        return status;
    }

    // Gone means purged, and only an ended transaction is purged: with a short retention on a busy
    // machine that can happen before the caller reads the outcome of its own rollback. An
    // in-process store's session is live and still says how it ended; a shared store's is a copy
    // taken before phase 2, so the rollback's completed status is answered.
    private async Task<GlobalStatus> RollbackOutcomeAsync(GlobalSession held)
    {
        if (await store.FindAsync(held.Xid) is { } current)
        {
            return current.Status;
        }
        return store.IsShared ? GlobalStatusRules.CompletedStatusOf(held.Status) : held.Status;
    }

    public async Task<GlobalStatus> GetStatusAsync(string xid)
    {
        RequestValidation.RequireXid(xid);
        return (await store.FindAsync(xid) ?? throw CoordinatorErrors.UnknownTransaction(xid)).Status;
    }

    /// <summary>The status of each XID (UNSPECIFIED when unknown), in request order, in one store look.</summary>
    public async Task<GetStatusesResponse> GetStatusesAsync(GetStatusesRequest request)
    {
        if (request.Xids.Count is 0 or > RequestValidation.MaxStatusLookups)
        {
            throw CoordinatorErrors.InvalidArgument($"GetStatuses takes 1..{RequestValidation.MaxStatusLookups} XIDs; got {request.Xids.Count}.");
        }
        foreach (var xid in request.Xids)
        {
            RequestValidation.RequireXid(xid);
        }
        var found = await store.FindStatusesAsync(request.Xids.Distinct(StringComparer.Ordinal).ToList());
        var response = new GetStatusesResponse();
        foreach (var xid in request.Xids)
        {
            response.Statuses.Add(new TransactionStatus { Xid = xid, Status = found.GetValueOrDefault(xid, GlobalStatus.Unspecified) });
        }
        return response;
    }

    /// <summary>Rolls back a transaction whose timeout passed (called by the background loop).</summary>
    public async Task TimeOutAsync(string xid)
    {
        await using (var scope = await store.LockAsync(xid))
        {
            if (scope is null)
            {
                return;
            }
            var session = scope.Session;
            if (session.Status != GlobalStatus.Begin || changes.NowUnixMs < session.DeadlineUnixMs)
            {
                return;
            }
            await changes.ChangeStatusAsync(scope, GlobalStatus.TimeoutRollbacking, $"timed out after {session.TimeoutMs} ms");
            metrics.RolledBack("timeout");
            Log.TimedOut(logger, session.Xid, session.TimeoutMs);
        }
        _ = driver.RunAsync(xid);
    }

    private async Task<ISessionScope> LockAsync(string xid, CancellationToken cancellationToken = default) =>
        await store.LockAsync(xid, cancellationToken) ?? throw CoordinatorErrors.UnknownTransaction(xid);

    // Only on the conflict path: one status read of the holder (no lock taken; a stale answer only
    // makes the waiter wait one more step, or give up one step early).
    private async Task<LockConflict> ToConflictAsync(LockConflictInfo conflict) => new()
    {
        ResourceId = conflict.Key.ResourceId,
        Key = new LockKey { Table = conflict.Key.Table, PrimaryKey = conflict.Key.PrimaryKey },
        HolderXid = conflict.Holder.Xid,
        HolderBranchId = conflict.Holder.BranchId,
        HolderRollingBack = await IsRollingBackAsync(conflict.Holder.Xid),
    };

    private async Task<bool> IsRollingBackAsync(string xid) => await store.FindAsync(xid) is { } holder && GlobalStatusRules.IsRollbackDirection(holder.Status);
}
