using System.Globalization;
using AtProxy.Coordinator.Alerts;
using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Coordination;
using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.ResourceManagers;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage;
using AtProxy.Protocol.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AtProxy.Coordinator.Admin;

/// <summary>
/// The operator's view and interventions. Every intervention needs a reason, is recorded in
/// the transaction's history with who made it, and is refused with FAILED_PRECONDITION when
/// the transaction's status does not allow it.
/// </summary>
internal sealed class AdminOperations(
    ICoordinatorStore store,
    SessionChanges changes,
    PhaseTwoDriver driver,
    ResourceManagerHub hub,
    CoordinatorIdentity identity,
    CoordinatorAlerts alerts,
    ActiveAlerts activeAlerts,
    PhaseTwoWaits waits,
    BranchFailureCounts failureCounts,
    IOptions<CoordinatorOptions> options,
    ILogger<AdminOperations> logger)
{
    public async Task<ListTransactionsResponse> ListTransactionsAsync(ListTransactionsRequest request)
    {
        var pageSize = PageToken.PageSize(request.PageSize);
        if (request.OlderThanMs < 0)
        {
            throw CoordinatorErrors.InvalidArgument($"older_than_ms must not be negative (got {request.OlderThanMs}).");
        }
        long after = 0;
        if (PageToken.Decode(request.PageToken, 1) is { } token && !long.TryParse(token[0], CultureInfo.InvariantCulture, out after))
        {
            throw CoordinatorErrors.InvalidArgument("page_token is not a token this coordinator issued.");
        }
        var statuses = request.Statuses.ToHashSet();
        var begunBefore = request.OlderThanMs > 0 ? changes.NowUnixMs - request.OlderThanMs : long.MaxValue;
        var page = await store.ListAsync(new TransactionQuery(after, statuses, request.Name, request.ApplicationId, begunBefore, pageSize + 1));
        var response = new ListTransactionsResponse();
        response.Transactions.Add(page.Take(pageSize).Select(ToInfo));
        if (page.Count > pageSize)
        {
            response.NextPageToken = PageToken.Encode(page[pageSize - 1].Sequence.ToString(CultureInfo.InvariantCulture));
        }
        return response;
    }

    public async Task<GetTransactionResponse> GetTransactionAsync(GetTransactionRequest request)
    {
        RequestValidation.RequireXid(request.Xid);
        var session = await store.FindAsync(request.Xid) ?? throw CoordinatorErrors.UnknownTransaction(request.Xid);
        var response = new GetTransactionResponse { Transaction = ToInfo(session) };
        response.Locks.Add((await store.LocksOfAsync(session)).Select(e => ToLockInfo(e.Key, e.Value)));
        response.History.Add(session.History().Select(h => new Transition { AtUnixMs = h.AtUnixMs, From = h.From, To = h.To, Reason = h.Reason, Actor = h.Actor }));
        response.TimeoutLeftMs = session.Status == GlobalStatus.Begin ? Math.Max(0, session.DeadlineUnixMs - changes.NowUnixMs) : 0;
        return response;
    }

    public async Task<ListLocksResponse> ListLocksAsync(ListLocksRequest request)
    {
        var pageSize = PageToken.PageSize(request.PageSize);
        if (request.Xid.Length > 0)
        {
            RequestValidation.RequireXid(request.Xid);
        }
        var after = LockListCursor.Parse(request.PageToken);
        var page = await store.ListLocksAsync(new LockQuery(request.ResourceId, request.Table, request.PrimaryKeyPrefix, request.Xid, after, pageSize + 1));
        var response = new ListLocksResponse();
        response.Locks.Add(page.Take(pageSize).Select(e => ToLockInfo(e.Key, e.Value)));
        if (page.Count > pageSize)
        {
            response.NextPageToken = LockListCursor.Of(page[pageSize - 1]).ToToken();
        }
        return response;
    }

    public async Task<GlobalStatus> RetryAsync(InterveneRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        ExpectedStatus.Validate(request.ExpectedStatus);
        GlobalStatus reached;
        await using (var scope = await LockAsync(request.Xid))
        {
            var session = scope.Session;
            var status = session.Status;
            ExpectedStatus.Require(session, request.ExpectedStatus, "retry");
            if (!GlobalStatusRules.IsRetrying(status) && !GlobalStatusRules.IsStopped(status))
            {
                throw CoordinatorErrors.FailedPrecondition(
                    $"Cannot retry '{session.Xid}': it is {StatusNames.Of(status)}; only a transaction in a retrying or failed status can be retried (stopped after a failure or a retry timeout).");
            }
            var resumed = ResumedStatusOf(session);
            await changes.ChangeStatusAsync(scope, resumed, request.Reason, actor, Audit("retry", session, 0, request.Reason, actor, resumed));
            Log.Intervention(logger, "retry", session.Xid, actor, request.Reason);
            reached = await ResumeAsync(scope);
        }
        return Kick(request.Xid, reached);
    }

    public async Task<GlobalStatus> ForceRollbackAsync(InterveneRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        ExpectedStatus.Validate(request.ExpectedStatus);
        GlobalStatus reached;
        await using (var scope = await LockAsync(request.Xid))
        {
            var session = scope.Session;
            var status = session.Status;
            ExpectedStatus.Require(session, request.ExpectedStatus, "roll back");
            if (status == GlobalStatus.Begin)
            {
                await changes.ChangeStatusAsync(scope, GlobalStatus.Rollbacking, request.Reason, actor,
                    Audit("force_rollback", session, 0, request.Reason, actor, GlobalStatus.Rollbacking));
            }
            else if (GlobalStatusRules.IsRollbackDirection(status) && !GlobalStatusRules.IsEnded(status))
            {
                var resumed = ResumedStatusOf(session);
                await changes.ChangeStatusAsync(scope, resumed, request.Reason, actor, Audit("force_rollback", session, 0, request.Reason, actor, resumed));
            }
            else
            {
                throw CoordinatorErrors.FailedPrecondition(GlobalStatusRules.IsEnded(status)
                    ? $"Cannot roll back '{session.Xid}': it has ended ({StatusNames.Of(status)})."
                    : $"Cannot roll back '{session.Xid}': commit was decided ({StatusNames.Of(status)}); use retry or force-commit.");
            }
            Log.Intervention(logger, "force-rollback", session.Xid, actor, request.Reason);
            reached = await ResumeAsync(scope);
        }
        return Kick(request.Xid, reached);
    }

    public async Task<GlobalStatus> ForceCommitAsync(InterveneRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        ExpectedStatus.Validate(request.ExpectedStatus);
        GlobalStatus reached;
        await using (var scope = await LockAsync(request.Xid))
        {
            var session = scope.Session;
            var status = session.Status;
            ExpectedStatus.Require(session, request.ExpectedStatus, "commit");
            if (status == GlobalStatus.Begin)
            {
                var needsPhaseTwo = session.Branches().Any(b => !BranchStatusRules.IsDone(b.Status));
                var decided = needsPhaseTwo ? GlobalStatus.AsyncCommitting : GlobalStatus.Committed;
                await changes.ChangeStatusAsync(scope, decided, request.Reason, actor, Audit("force_commit", session, 0, request.Reason, actor, decided));
            }
            else if (GlobalStatusRules.IsCommitDirection(status) && !GlobalStatusRules.IsEnded(status))
            {
                var resumed = ResumedStatusOf(session);
                await changes.ChangeStatusAsync(scope, resumed, request.Reason, actor, Audit("force_commit", session, 0, request.Reason, actor, resumed));
            }
            else
            {
                throw CoordinatorErrors.FailedPrecondition(GlobalStatusRules.IsEnded(status)
                    ? $"Cannot commit '{session.Xid}': it has ended ({StatusNames.Of(status)})."
                    : $"Cannot commit '{session.Xid}': rollback was decided ({StatusNames.Of(status)}); use retry or force-rollback.");
            }
            Log.Intervention(logger, "force-commit", session.Xid, actor, request.Reason);
            reached = await ResumeAsync(scope);
        }
        return Kick(request.Xid, reached);
    }

    public async Task<GlobalStatus> ForgetBranchAsync(ForgetBranchRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        ExpectedStatus.Validate(request.ExpectedStatus);
        GlobalStatus reached;
        await using (var scope = await LockAsync(request.Xid))
        {
            var session = scope.Session;
            var branch = session.FindBranch(request.BranchId) ?? throw CoordinatorErrors.UnknownBranch(request.Xid, request.BranchId);
            var status = session.Status;
            ExpectedStatus.Require(session, request.ExpectedStatus, $"forget branch {branch.BranchId} of");
            if (BranchStatusRules.IsDone(branch.Status) || GlobalStatusRules.IsEnded(status))
            {
                throw CoordinatorErrors.FailedPrecondition($"Branch {branch.BranchId} of '{session.Xid}' is done already ({branch.Status}).");
            }
            if (status == GlobalStatus.Begin)
            {
                throw CoordinatorErrors.FailedPrecondition(
                    $"Cannot forget branch {branch.BranchId}: '{session.Xid}' is still BEGIN; decide it first (commit or rollback), so the branch has a phase 2 to skip.");
            }
            var done = GlobalStatusRules.IsCommitDirection(status) ? BranchStatus.PhaseTwoCommitted : BranchStatus.PhaseTwoRollbacked;
            // The audit entry goes with the forget itself; the status it names is the one the forget leaves.
            var finishes = GlobalStatusRules.IsStopped(status) && session.Branches().All(b => b.BranchId == branch.BranchId || BranchStatusRules.IsDone(b.Status));
            await changes.ForgetBranchAsync(scope, branch, done, request.Reason, actor,
                Audit("forget_branch", session, branch.BranchId, request.Reason, actor, finishes ? GlobalStatus.Finished : status));
            Log.Intervention(logger, $"forget-branch {branch.BranchId}", session.Xid, actor, request.Reason);

            // A stopped transaction whose last undone branch was forgotten has nothing left to wait for.
            if (GlobalStatusRules.IsStopped(status) && session.Branches().All(b => BranchStatusRules.IsDone(b.Status)))
            {
                await changes.ChangeStatusAsync(scope, GlobalStatus.Finished, $"every branch done after branch {branch.BranchId} was forgotten", actor);
            }
            reached = await ResumeAsync(scope);
        }
        return Kick(request.Xid, reached);
    }

    public async Task<GetCoordinatorStatusResponse> GetCoordinatorStatusAsync()
    {
        var counts = await store.CountAsync();
        var response = new GetCoordinatorStatusResponse
        {
            CoordinatorId = options.Value.NodeId,
            Version = identity.Version,
            StoreKind = store.Kind,
            StartedUnixMs = identity.StartedUnixMs,
            LocksHeld = counts.LocksHeld,
        };
        response.TransactionsByStatus.Add(counts.TransactionsByStatus
            .OrderBy(c => c.Key)
            .Select(c => new StatusCount { Status = c.Key, Count = c.Value }));
        foreach (var connection in hub.Connections)
        {
            var info = new ConnectedResourceManager
            {
                ApplicationId = connection.ApplicationId,
                InstanceId = connection.InstanceId,
                CoordinatorId = options.Value.NodeId,
                ConnectedUnixMs = connection.ConnectedUnixMs,
            };
            info.ResourceIds.Add(connection.ResourceIds);
            response.ResourceManagers.Add(info);
        }
        return response;
    }

    /// <summary>The longest a resource manager is waited for with undo images, whatever the caller's deadline.</summary>
    public static readonly TimeSpan UndoImagesWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// One branch's undo images, asked of a resource manager connected for the branch's resource over
    /// its stream (this coordinator holds no database credentials): NOT_FOUND for an unknown
    /// transaction or branch, UNAVAILABLE when no resource manager for the resource is connected here
    /// or it could not read them, DEADLINE_EXCEEDED when it does not answer within
    /// <see cref="UndoImagesWait"/> or before <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task<GetBranchUndoResponse> GetBranchUndoAsync(GetBranchUndoRequest request, CancellationToken cancellationToken)
    {
        RequestValidation.RequireXid(request.Xid);
        if (request.BranchId <= 0)
        {
            throw CoordinatorErrors.InvalidArgument($"branch_id must be a positive branch id (got {request.BranchId}).");
        }
        var session = await store.FindAsync(request.Xid) ?? throw CoordinatorErrors.UnknownTransaction(request.Xid);
        var branch = session.FindBranch(request.BranchId) ?? throw CoordinatorErrors.UnknownBranch(request.Xid, request.BranchId);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(UndoImagesWait);
        var ask = new UndoImagesRequest
        {
            Xid = session.Xid,
            BranchId = branch.BranchId,
            ResourceId = branch.ResourceId,
            ResourceIdentity = branch.ResourceIdentity,
        };
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return await hub.RequestUndoImagesAsync(ask, options.Value.NodeId, wait.Token);
        }
        catch (OperationCanceledException) when (wait.IsCancellationRequested)
        {
            throw CoordinatorErrors.ResourceManagerSilent(branch.ResourceId, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    public ListAlertsResponse ListAlerts()
    {
        var response = new ListAlertsResponse();
        foreach (var alert in activeAlerts.List())
        {
            var info = new Alert
            {
                Kind = CoordinatorAlertKindNames.NameOf(alert.Kind),
                Xid = alert.Xid,
                Name = alert.Name,
                ApplicationId = alert.ApplicationId,
                Status = alert.Status,
                BeginTimeUnixMs = alert.BeginTime.ToUnixTimeMilliseconds(),
                AgeMs = (long)alert.Age.TotalMilliseconds,
                RaisedUnixMs = alert.RaisedAt.ToUnixTimeMilliseconds(),
                Message = alert.Message,
            };
            info.BranchErrors.Add(alert.BranchErrors.Select(e => new AlertBranchError { BranchId = e.BranchId, ResourceId = e.ResourceId, Status = e.Status, Error = e.Error }));
            response.Alerts.Add(info);
        }
        return response;
    }

    public async Task<ListInterventionsResponse> ListInterventionsAsync(ListInterventionsRequest request)
    {
        var pageSize = PageToken.PageSize(request.PageSize);
        if (request.Xid.Length > 0)
        {
            RequestValidation.RequireXid(request.Xid);
        }
        var before = long.MaxValue;
        if (PageToken.Decode(request.PageToken, 1) is { } token && !long.TryParse(token[0], CultureInfo.InvariantCulture, out before))
        {
            throw CoordinatorErrors.InvalidArgument("page_token is not a token this coordinator issued.");
        }
        var page = await store.ListInterventionsAsync(request.Xid, before, pageSize + 1);
        var response = new ListInterventionsResponse();
        response.Interventions.Add(page.Take(pageSize));
        if (page.Count > pageSize)
        {
            response.NextPageToken = PageToken.Encode(page[pageSize - 1].Id.ToString(CultureInfo.InvariantCulture));
        }
        return response;
    }

    // The audit entry of an intervention, written by the store in the same record as the change it makes.
    private Intervention Audit(string action, GlobalSession session, long branchId, string reason, string actor, GlobalStatus after) => new()
    {
        AtUnixMs = changes.NowUnixMs,
        Actor = actor,
        Action = action,
        Xid = session.Xid,
        BranchId = branchId,
        Reason = reason,
        StatusBefore = session.Status,
        StatusAfter = after,
        CoordinatorId = options.Value.NodeId,
    };

    // Where a retried or resumed transaction goes: its retrying status, which phase 2 picks up at once.
    private static GlobalStatus ResumedStatusOf(GlobalSession session) => session.Status switch
    {
        GlobalStatus.CommitFailed or GlobalStatus.CommitRetryTimeout => GlobalStatus.CommitRetrying,
        GlobalStatus.RollbackFailed or GlobalStatus.RollbackRetryTimeout => session.TimedOut ? GlobalStatus.TimeoutRollbackRetrying : GlobalStatus.RollbackRetrying,
        var status => status,
    };

    // Caller holds the scope. An intervention starts the back-off afresh (and, through its recorded
    // transition, the retry budget); the alerts of the stop it ends are resolved.
    private async Task<GlobalStatus> ResumeAsync(ISessionScope scope)
    {
        var session = scope.Session;
        if (GlobalStatusRules.IsPhaseTwoInProgress(session.Status))
        {
            alerts.Resumed(session.Xid);
            failureCounts.Forget(session.Xid, session.Branches().Select(b => b.BranchId));
            session.FailuresInARow = 0;
            session.NextAttemptUnixMs = 0;
            await scope.SaveScheduleAsync();
        }
        return session.Status;
    }

    // After the scope is released: phase 2 starts here at once (or on the coordinator holding its claim).
    private GlobalStatus Kick(string xid, GlobalStatus status)
    {
        if (GlobalStatusRules.IsPhaseTwoInProgress(status))
        {
            _ = driver.RunAsync(xid);
        }
        return status;
    }

    private async Task<ISessionScope> LockAsync(string xid)
    {
        RequestValidation.RequireXid(xid);
        return await store.LockAsync(xid) ?? throw CoordinatorErrors.UnknownTransaction(xid);
    }

    private GlobalTransactionInfo ToInfo(GlobalSession session)
    {
        GlobalTransactionInfo info;
        lock (session)
        {
            info = new GlobalTransactionInfo
            {
                Xid = session.Xid,
                Name = session.Name,
                ApplicationId = session.ApplicationId,
                Status = session.Status,
                BeginTimeUnixMs = session.BeginTimeUnixMs,
                TimeoutMs = session.TimeoutMs,
                LastUpdateUnixMs = session.LastUpdateUnixMs,
                Attempts = session.Attempts,
            };
            foreach (var branch in session.BranchesUnsafe)
            {
                info.Branches.Add(new BranchInfo
                {
                    BranchId = branch.BranchId,
                    ResourceId = branch.ResourceId,
                    ApplicationId = branch.ApplicationId,
                    Status = branch.Status,
                    RegisteredUnixMs = branch.RegisteredUnixMs,
                    LockCount = branch.LocksHeld ? branch.LockKeys.Length : 0,
                    LastError = branch.LastError,
                });
            }
        }
        waits.Describe(session, info, changes.NowUnixMs);
        return info;
    }

    private static LockInfo ToLockInfo(LockKeyId key, LockHolder holder) => new()
    {
        ResourceId = key.ResourceId,
        Key = new LockKey { Table = key.Table, PrimaryKey = key.PrimaryKey },
        Xid = holder.Xid,
        BranchId = holder.BranchId,
        ApplicationId = holder.ApplicationId,
        AcquiredUnixMs = holder.AcquiredUnixMs,
    };
}
