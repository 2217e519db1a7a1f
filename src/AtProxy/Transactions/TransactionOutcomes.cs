using AtProxy.Diagnostics;
using AtProxy.Coordination;
using Microsoft.Extensions.Logging;

namespace AtProxy.Transactions;

/// <summary>
/// Commit and rollback requests whose outcome the application always learns: a request that gets
/// no answer (the coordinator unreachable for the whole call timeout, or the connection lost after
/// it was sent) is followed by a status lookup, and only when that fails too does the caller get a
/// <see cref="GlobalTransactionOutcomeUnknownException"/> saying what is known. Both requests are
/// safe to repeat: the coordinator answers a decided transaction with its status.
/// </summary>
internal sealed class TransactionOutcomes(CoordinatorClient coordinator, AtProxyMetrics metrics, ILogger logger)
{
    /// <summary>How long the lookup after an unanswered request keeps trying.</summary>
    private static readonly TimeSpan LookupBudget = TimeSpan.FromSeconds(3);

    public CoordinatorClient Coordinator => coordinator;

    /// <summary>Asks for commit; returns the status the coordinator reports for the transaction.</summary>
    public Task<GlobalTransactionStatus> CommitAsync(string xid, CancellationToken cancellationToken) =>
        CountedAsync("commit", CommitCoreAsync(xid, cancellationToken));

    /// <summary>As <see cref="RollbackCoreAsync"/>, counted by outcome.</summary>
    public Task<GlobalTransactionStatus> RollbackAsync(string xid, string reason, CancellationToken cancellationToken) =>
        CountedAsync("rollback", RollbackCoreAsync(xid, reason, cancellationToken));

    private async Task<GlobalTransactionStatus> CountedAsync(string request, Task<GlobalTransactionStatus> call)
    {
        try
        {
            var status = await call.ConfigureAwait(false);
            metrics.Requested(request, status.ToString());
            return status;
        }
        catch (GlobalTransactionOutcomeUnknownException)
        {
            metrics.Requested(request, "unknown");
            throw;
        }
        catch (AtProxyException)
        {
            metrics.Requested(request, "refused");
            throw;
        }
    }

    private async Task<GlobalTransactionStatus> CommitCoreAsync(string xid, CancellationToken cancellationToken)
    {
        try
        {
            return await coordinator.CommitAsync(xid, cancellationToken).ConfigureAwait(false);
        }
        catch (CoordinatorUnavailableException unanswered)
        {
            var known = await LookUpAsync(xid, cancellationToken).ConfigureAwait(false);
            if (known == GlobalTransactionStatus.Begin)
            {
                // The request never arrived; the coordinator answers again now, so ask once more.
                return await RetryOrGiveUpAsync(xid, "commit", () => coordinator.CommitAsync(xid, cancellationToken)).ConfigureAwait(false);
            }
            if (known is { } status)
            {
                logger.LogInformation("The commit request of {Xid} got no answer; its status, looked up afterwards, is {Status}", xid, status);
                return status;
            }
            throw new GlobalTransactionOutcomeUnknownException(
                $"The commit of global transaction {xid} got no answer and its status could not be looked up: {unanswered.Message} " +
                $"It is committed if the request reached a coordinator, and otherwise rolled back when its timeout passes. " +
                $"Look it up with GlobalTransaction.GetStatusAsync or `atproxy tx show {xid}`.", xid, unanswered);
        }
    }

    /// <summary>
    /// Asks for rollback; returns the status the coordinator reports (a rollback still under way
    /// when the call ends is answered as such). Every request that fails is logged with its XID.
    /// </summary>
    private async Task<GlobalTransactionStatus> RollbackCoreAsync(string xid, string reason, CancellationToken cancellationToken)
    {
        GlobalTransactionStatus status;
        try
        {
            status = await coordinator.RollbackAsync(xid, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (CoordinatorUnavailableException unanswered)
        {
            var known = await LookUpAsync(xid, cancellationToken).ConfigureAwait(false);
            if (known == GlobalTransactionStatus.Begin)
            {
                status = await RetryOrGiveUpAsync(xid, "rollback", () => coordinator.RollbackAsync(xid, reason, cancellationToken)).ConfigureAwait(false);
            }
            else if (known is { } looked)
            {
                status = looked;
            }
            else
            {
                logger.LogWarning(unanswered,
                    "The rollback of {Xid} got no answer and its status could not be looked up; the coordinator rolls it back when its timeout passes", xid);
                throw new GlobalTransactionOutcomeUnknownException(
                    $"The rollback of global transaction {xid} got no answer and its status could not be looked up: {unanswered.Message} " +
                    $"The coordinator rolls it back when its timeout passes. Look it up with `atproxy tx show {xid}`.", xid, unanswered);
            }
        }
        catch (AtProxyException refused)
        {
            logger.LogWarning(refused, "The rollback of {Xid} was refused", xid);
            throw;
        }
        if (status is GlobalTransactionStatus.RollbackFailed or GlobalTransactionStatus.RollbackRetryTimeout or GlobalTransactionStatus.CommitFailed
            || status.IsCommitDecided())
        {
            logger.LogWarning("The rollback of {Xid} was asked, but the coordinator reports {Status}", xid, status);
        }
        return status;
    }

    /// <summary>The status, or null when no coordinator answered (or none knows the transaction any more).</summary>
    private async Task<GlobalTransactionStatus?> LookUpAsync(string xid, CancellationToken cancellationToken)
    {
        try
        {
            var status = await coordinator.GetStatusAsync(xid, cancellationToken, LookupBudget).ConfigureAwait(false);
            return status == GlobalTransactionStatus.Unknown ? null : status;
        }
        catch (AtProxyException)
        {
            return null;
        }
    }

    private async Task<GlobalTransactionStatus> RetryOrGiveUpAsync(string xid, string request, Func<Task<GlobalTransactionStatus>> send)
    {
        try
        {
            return await send().ConfigureAwait(false);
        }
        catch (CoordinatorUnavailableException again)
        {
            logger.LogWarning(again, "The {Request} of {Xid} got no answer twice", request, xid);
            throw new GlobalTransactionOutcomeUnknownException(
                $"The {request} of global transaction {xid} got no answer twice, though the coordinator reported it undecided in between: {again.Message} " +
                $"Look it up with `atproxy tx show {xid}`; an undecided transaction is rolled back when its timeout passes.", xid, again);
        }
    }
}
