using AtProxy.Diagnostics;
using System.Diagnostics;
using AtProxy.Coordination;
using AtProxy.Protocol.V1;
using AtProxy.Transactions;

namespace AtProxy.Phase1;

/// <summary>
/// Where phase 1 meets other transactions' global locks: registering a branch with its lock keys,
/// checking keys in a GlobalLock scope, and locking rows read <c>FOR UPDATE</c> all go through the one
/// retry loop here, which waits (<see cref="LockBackoff"/>) while another global transaction holds a
/// key and builds the one conflict exception when the retries run out.
/// </summary>
internal sealed class GlobalLockGate(CoordinatorClient coordinator, AtProxyOptions options, AtProxyMetrics metrics)
{
    /// <summary>The end of a conflict message at local commit.</summary>
    public const string NothingCommitted = "Nothing was committed; retry later.";

    /// <summary>How many times a conflict is waited out before it is reported.</summary>
    public int DefaultRetries => options.LockRetryCount;

    /// <summary>
    /// Runs <paramref name="attempt"/> until it reports no conflict, waiting between attempts; after
    /// <paramref name="retries"/> waits, throws <see cref="GlobalLockConflictException"/>. Whatever
    /// database row locks an attempt still holds are held through the wait: row locking and the
    /// autocommit rerun give theirs back first (the holder's phase-2 rollback may need them); a
    /// registration at an application's explicit COMMIT keeps its local transaction, as it must.
    /// </summary>
    /// <param name="resourceId">The database the keys belong to.</param>
    /// <param name="owner">Who is waiting (the conflict message names it).</param>
    /// <param name="retries">How many conflicts to wait out.</param>
    /// <param name="gaveUp">The end of the conflict message: who gave up, and what that left ("SELECT ... FOR UPDATE gave up waiting for it.").</param>
    /// <param name="attempt">One try: its result, or the conflict that stopped it.</param>
    /// <param name="cancellationToken">Cancels the waits and the attempts.</param>
    /// <param name="holdsWrittenRows">
    /// True when the attempt holds, in its local transaction, the rows whose keys it asks for (a
    /// registration or a lock check at local commit): a holder that is rolling back needs those rows,
    /// so the conflict is reported at once instead of waited out (Seata's fail-fast).
    /// </param>
    public Task<T> AcquireAsync<T>(string resourceId, AmbientTransaction owner, int retries, string gaveUp,
        Func<CancellationToken, Task<(T Result, LockConflict? Conflict)>> attempt, CancellationToken cancellationToken, bool holdsWrittenRows = false) =>
        AcquireAsync(resourceId, owner, retries, gaveUp, async (_, ct) =>
        {
            var (result, conflict) = await attempt(ct).ConfigureAwait(false);
            return (result, conflict, false);
        }, cancellationToken, holdsWrittenRows);

    /// <summary>
    /// As above, with an attempt that may wait for a conflict itself: it is given how long the next
    /// wait would be (zero on the last try) and says whether it waited, in which case no wait follows here.
    /// </summary>
    private async Task<T> AcquireAsync<T>(string resourceId, AmbientTransaction owner, int retries, string gaveUp,
        Func<TimeSpan, CancellationToken, Task<(T Result, LockConflict? Conflict, bool Waited)>> attempt, CancellationToken cancellationToken, bool holdsWrittenRows)
    {
        var backoff = new LockBackoff(coordinator, options, resourceId, owner.Xid);
        long waitingSince = 0;
        for (var tries = 0; ; tries++)
        {
            var attempted = Stopwatch.GetTimestamp();
            var (result, conflict, waited) = await attempt(tries < retries ? backoff.Next : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            if (waited && waitingSince == 0)
            {
                waitingSince = attempted; // the wait happened inside the attempt, before its answer
            }
            if (conflict is null)
            {
                if (waitingSince != 0)
                {
                    metrics.LockWaited(resourceId, waitingSince, acquired: true);
                }
                return result;
            }
            if (waitingSince == 0)
            {
                waitingSince = Stopwatch.GetTimestamp();
            }
            if (holdsWrittenRows && conflict.HolderRollingBack)
            {
                // The holder's rollback must restore the very row our local transaction has written and
                // holds locked: waiting would only hold that rollback up until our retries run out.
                throw Conflict(conflict, $"it is rolling back and must restore that row, so {owner} gave way at once. {NothingCommitted}");
            }
            if (tries >= retries)
            {
                if (tries > 0)
                {
                    // Only a wait is measured: a caller that asked for no retries (it waits its own way) did not wait here.
                    metrics.LockWaited(resourceId, waitingSince, acquired: false);
                }
                throw Conflict(conflict, gaveUp);
            }
            if (waited)
            {
                backoff.Waited();
            }
            else
            {
                await backoff.WaitAsync(conflict, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Registers a branch with its lock keys; returns its id.</summary>
    public Task<long> RegisterAsync(RegisterBranchRequest request, int retries, CancellationToken cancellationToken) =>
        AcquireAsync(request.ResourceId, AmbientTransaction.Global(request.Xid), retries, $"{request.Xid} gave up waiting for it. {NothingCommitted}", async (wait, ct) =>
        {
            // The coordinator waits for a held key itself and registers the moment it is released (an
            // older one ignores wait_ms and answers the conflict at once, without `waited`).
            request.WaitMs = (uint)Math.Ceiling(wait.TotalMilliseconds);
            var response = await coordinator.RegisterBranchAsync(request, ct).ConfigureAwait(false);
            return (response.BranchId, response.Conflict, response.Waited);
        }, cancellationToken, holdsWrittenRows: true);

    /// <summary>Checks that no global transaction but <paramref name="owner"/>'s holds any of <paramref name="keys"/>.</summary>
    public Task CheckAsync(string resourceId, AmbientTransaction owner, IEnumerable<LockKey> keys, int retries, string gaveUp, CancellationToken cancellationToken)
    {
        var request = new CheckLocksRequest { Xid = owner.Xid ?? "", ResourceId = resourceId };
        request.LockKeys.AddRange(keys);
        return AcquireAsync(resourceId, owner, retries, gaveUp, async ct => (true, await CheckOnceAsync(request, ct).ConfigureAwait(false)), cancellationToken,
            holdsWrittenRows: true);
    }

    /// <summary>One check without waiting: the first conflict, or null when every key is free (or ours).</summary>
    public async Task<LockConflict?> CheckOnceAsync(CheckLocksRequest request, CancellationToken cancellationToken)
    {
        var response = await coordinator.CheckLocksAsync(request, cancellationToken).ConfigureAwait(false);
        return response.Lockable ? null : response.Conflict ?? new LockConflict { ResourceId = request.ResourceId };
    }

    /// <summary>The conflict a <see cref="GlobalLockConflictException"/> reported, to wait on it again.</summary>
    public static LockConflict? ConflictOf(GlobalLockConflictException exception, string resourceId) =>
        exception.Table is null || exception.PrimaryKey is null
            ? new LockConflict { ResourceId = resourceId, HolderXid = exception.HolderXid }
            : new LockConflict
            {
                ResourceId = resourceId, HolderXid = exception.HolderXid,
                Key = new LockKey { Table = exception.Table, PrimaryKey = exception.PrimaryKey },
            };

    /// <summary>The one message for a lock that stayed held: which row, who holds it, who gave up.</summary>
    private static GlobalLockConflictException Conflict(LockConflict conflict, string gaveUp) =>
        new($"Row {conflict.Key?.Table}:{conflict.Key?.PrimaryKey} is locked by global transaction {conflict.HolderXid}; {gaveUp}",
            conflict.HolderXid ?? "", conflict.Key?.Table, conflict.Key?.PrimaryKey);
}
