using System.Globalization;
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
    IOptions<CoordinatorOptions> options,
    ILogger<AdminOperations> logger)
{
    public ListTransactionsResponse ListTransactions(ListTransactionsRequest request)
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
        var page = store.Sessions
            .Where(s => s.Sequence > after)
            .Where(s => statuses.Count == 0 || statuses.Contains(s.Status))
            .Where(s => request.Name.Length == 0 || s.Name == request.Name)
            .Where(s => request.ApplicationId.Length == 0 || s.ApplicationId == request.ApplicationId)
            .Where(s => s.BeginTimeUnixMs <= begunBefore)
            .OrderBy(s => s.Sequence)
            .Take(pageSize + 1)
            .ToList();
        var response = new ListTransactionsResponse();
        response.Transactions.Add(page.Take(pageSize).Select(ToInfo));
        if (page.Count > pageSize)
        {
            response.NextPageToken = PageToken.Encode(page[pageSize - 1].Sequence.ToString(CultureInfo.InvariantCulture));
        }
        return response;
    }

    public GetTransactionResponse GetTransaction(GetTransactionRequest request)
    {
        var session = Find(request.Xid);
        var response = new GetTransactionResponse { Transaction = ToInfo(session) };
        foreach (var branch in session.Branches())
        {
            if (!branch.LocksHeld)
            {
                continue;
            }
            foreach (var key in branch.LockKeys)
            {
                if (store.HolderOf(key) is { } holder && ReferenceEquals(holder, branch.Holder))
                {
                    response.Locks.Add(ToLockInfo(key, holder));
                }
            }
        }
        response.History.Add(session.History().Select(h => new Transition { AtUnixMs = h.AtUnixMs, From = h.From, To = h.To, Reason = h.Reason, Actor = h.Actor }));
        response.TimeoutLeftMs = session.Status == GlobalStatus.Begin ? Math.Max(0, session.DeadlineUnixMs - changes.NowUnixMs) : 0;
        return response;
    }

    public ListLocksResponse ListLocks(ListLocksRequest request)
    {
        var pageSize = PageToken.PageSize(request.PageSize);
        if (request.Xid.Length > 0)
        {
            RequestValidation.RequireXid(request.Xid);
        }
        var after = LockCursor.Parse(request.PageToken);
        var page = store.SnapshotLocks()
            .Where(e => request.ResourceId.Length == 0 || e.Key.ResourceId == request.ResourceId)
            .Where(e => request.Table.Length == 0 || e.Key.Table == request.Table)
            .Where(e => e.Key.PrimaryKey.StartsWith(request.PrimaryKeyPrefix, StringComparison.Ordinal))
            .Where(e => request.Xid.Length == 0 || e.Value.Xid == request.Xid)
            .Select(e => (Entry: e, Cursor: LockCursor.Of(e)))
            .Where(e => after is null || e.Cursor.CompareTo(after.Value) > 0)
            .OrderBy(e => e.Cursor)
            .Take(pageSize + 1)
            .ToList();
        var response = new ListLocksResponse();
        response.Locks.Add(page.Take(pageSize).Select(e => ToLockInfo(e.Entry.Key, e.Entry.Value)));
        if (page.Count > pageSize)
        {
            response.NextPageToken = page[pageSize - 1].Cursor.ToToken();
        }
        return response;
    }

    public async Task<GlobalStatus> RetryAsync(InterveneRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        var session = Find(request.Xid);
        await session.Gate.WaitAsync();
        try
        {
            var status = session.Status;
            if (!GlobalStatusRules.IsRetrying(status) && !GlobalStatusRules.IsFailed(status))
            {
                throw CoordinatorErrors.FailedPrecondition(
                    $"Cannot retry '{session.Xid}': it is {StatusNames.Of(status)}; only a transaction in a retrying or failed status can be retried.");
            }
            await changes.ChangeStatusAsync(session, ResumedStatusOf(session), request.Reason, actor);
            Log.Intervention(logger, "retry", session.Xid, actor, request.Reason);
        }
        finally
        {
            session.Gate.Release();
        }
        return Resume(session);
    }

    public async Task<GlobalStatus> ForceRollbackAsync(InterveneRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        var session = Find(request.Xid);
        await session.Gate.WaitAsync();
        try
        {
            var status = session.Status;
            if (status == GlobalStatus.Begin)
            {
                await changes.ChangeStatusAsync(session, GlobalStatus.Rollbacking, request.Reason, actor);
            }
            else if (GlobalStatusRules.IsRollbackDirection(status) && !GlobalStatusRules.IsEnded(status))
            {
                await changes.ChangeStatusAsync(session, status == GlobalStatus.RollbackFailed ? ResumedStatusOf(session) : status, request.Reason, actor);
            }
            else
            {
                throw CoordinatorErrors.FailedPrecondition(GlobalStatusRules.IsEnded(status)
                    ? $"Cannot roll back '{session.Xid}': it has ended ({StatusNames.Of(status)})."
                    : $"Cannot roll back '{session.Xid}': commit was decided ({StatusNames.Of(status)}); use retry or force-commit.");
            }
            Log.Intervention(logger, "force-rollback", session.Xid, actor, request.Reason);
        }
        finally
        {
            session.Gate.Release();
        }
        return Resume(session);
    }

    public async Task<GlobalStatus> ForceCommitAsync(InterveneRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        var session = Find(request.Xid);
        await session.Gate.WaitAsync();
        try
        {
            var status = session.Status;
            if (status == GlobalStatus.Begin)
            {
                var needsPhaseTwo = session.Branches().Any(b => !BranchStatusRules.IsDone(b.Status));
                await changes.ChangeStatusAsync(session, needsPhaseTwo ? GlobalStatus.AsyncCommitting : GlobalStatus.Committed, request.Reason, actor);
            }
            else if (GlobalStatusRules.IsCommitDirection(status) && !GlobalStatusRules.IsEnded(status))
            {
                await changes.ChangeStatusAsync(session, status == GlobalStatus.CommitFailed ? GlobalStatus.CommitRetrying : status, request.Reason, actor);
            }
            else
            {
                throw CoordinatorErrors.FailedPrecondition(GlobalStatusRules.IsEnded(status)
                    ? $"Cannot commit '{session.Xid}': it has ended ({StatusNames.Of(status)})."
                    : $"Cannot commit '{session.Xid}': rollback was decided ({StatusNames.Of(status)}); use retry or force-rollback.");
            }
            Log.Intervention(logger, "force-commit", session.Xid, actor, request.Reason);
        }
        finally
        {
            session.Gate.Release();
        }
        return Resume(session);
    }

    public async Task<GlobalStatus> ForgetBranchAsync(ForgetBranchRequest request, string actor)
    {
        RequestValidation.RequireReason(request.Reason);
        var session = Find(request.Xid);
        await session.Gate.WaitAsync();
        try
        {
            var branch = session.FindBranch(request.BranchId) ?? throw CoordinatorErrors.UnknownBranch(request.Xid, request.BranchId);
            var status = session.Status;
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
            await changes.ForgetBranchAsync(session, branch, done, request.Reason, actor);
            Log.Intervention(logger, $"forget-branch {branch.BranchId}", session.Xid, actor, request.Reason);

            // A stopped transaction whose last undone branch was forgotten has nothing left to wait for.
            if (GlobalStatusRules.IsFailed(status) && session.Branches().All(b => BranchStatusRules.IsDone(b.Status)))
            {
                await changes.ChangeStatusAsync(session, GlobalStatus.Finished, $"every branch done after branch {branch.BranchId} was forgotten", actor);
            }
        }
        finally
        {
            session.Gate.Release();
        }
        return Resume(session);
    }

    public GetCoordinatorStatusResponse GetCoordinatorStatus()
    {
        var response = new GetCoordinatorStatusResponse
        {
            CoordinatorId = options.Value.NodeId,
            Version = identity.Version,
            StoreKind = store.Kind,
            StartedUnixMs = identity.StartedUnixMs,
            LocksHeld = store.LocksHeld,
        };
        response.TransactionsByStatus.Add(store.Sessions
            .GroupBy(s => s.Status)
            .OrderBy(g => g.Key)
            .Select(g => new StatusCount { Status = g.Key, Count = g.LongCount() }));
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

    // Where a retried or resumed transaction goes: its retrying status, which phase 2 picks up at once.
    private static GlobalStatus ResumedStatusOf(GlobalSession session) => session.Status switch
    {
        GlobalStatus.CommitFailed => GlobalStatus.CommitRetrying,
        GlobalStatus.RollbackFailed => session.TimedOut ? GlobalStatus.TimeoutRollbackRetrying : GlobalStatus.RollbackRetrying,
        var status => status,
    };

    private GlobalStatus Resume(GlobalSession session)
    {
        if (GlobalStatusRules.IsPhaseTwoInProgress(session.Status))
        {
            // An intervention starts the back-off afresh.
            session.FailuresInARow = 0;
            session.NextAttemptUnixMs = 0;
            _ = driver.RunAsync(session);
        }
        return session.Status;
    }

    private GlobalSession Find(string xid)
    {
        RequestValidation.RequireXid(xid);
        return store.Find(xid) ?? throw CoordinatorErrors.UnknownTransaction(xid);
    }

    private static GlobalTransactionInfo ToInfo(GlobalSession session)
    {
        lock (session)
        {
            var info = new GlobalTransactionInfo
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
            return info;
        }
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

    // Oldest first, then a total order, so paging never skips or repeats a lock.
    private readonly record struct LockCursor(long AcquiredUnixMs, long BranchId, string ResourceId, string Table, string PrimaryKey) : IComparable<LockCursor>
    {
        public static LockCursor Of(KeyValuePair<LockKeyId, LockHolder> entry) =>
            new(entry.Value.AcquiredUnixMs, entry.Value.BranchId, entry.Key.ResourceId, entry.Key.Table, entry.Key.PrimaryKey);

        public static LockCursor? Parse(string token)
        {
            if (PageToken.Decode(token, 5) is not { } parts)
            {
                return null;
            }
            if (!long.TryParse(parts[0], CultureInfo.InvariantCulture, out var acquired) || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var branch))
            {
                throw CoordinatorErrors.InvalidArgument("page_token is not a token this coordinator issued.");
            }
            return new LockCursor(acquired, branch, parts[2], parts[3], parts[4]);
        }

        public string ToToken() => PageToken.Encode(
            AcquiredUnixMs.ToString(CultureInfo.InvariantCulture), BranchId.ToString(CultureInfo.InvariantCulture), ResourceId, Table, PrimaryKey);

        public int CompareTo(LockCursor other)
        {
            var result = AcquiredUnixMs.CompareTo(other.AcquiredUnixMs);
            if (result == 0)
            {
                result = BranchId.CompareTo(other.BranchId);
            }
            if (result == 0)
            {
                result = string.CompareOrdinal(ResourceId, other.ResourceId);
            }
            if (result == 0)
            {
                result = string.CompareOrdinal(Table, other.Table);
            }
            return result != 0 ? result : string.CompareOrdinal(PrimaryKey, other.PrimaryKey);
        }
    }
}
