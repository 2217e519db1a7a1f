using System.Diagnostics;
using AtProxy.Diagnostics;
using AtProxy.Transactions;

namespace AtProxy;

/// <summary>
/// A global transaction begun (or joined) by <see cref="AtProxyClient.BeginAsync"/>. While it is
/// not disposed, its XID is the ambient one, so every <see cref="AtDbConnection"/> in the flow
/// joins it. Disposed without <see cref="CommitAsync"/>, it is rolled back.
/// </summary>
public sealed class GlobalTransaction : IAsyncDisposable
{
    private readonly TransactionOutcomes _outcomes;
    private readonly IDisposable _scope;
    private int _ended;

    internal GlobalTransaction(TransactionOutcomes outcomes, string xid, bool isOriginator, IDisposable scope)
    {
        _outcomes = outcomes;
        Xid = xid;
        IsOriginator = isOriginator;
        _scope = scope;
        Status = GlobalTransactionStatus.Begin;
    }

    /// <summary>The coordinator's id of this global transaction.</summary>
    public string Xid { get; }

    /// <summary>
    /// True when this object began the transaction. A <c>BeginAsync</c> inside an active global
    /// transaction joins it instead; only the originator commits or rolls back.
    /// </summary>
    public bool IsOriginator { get; }

    /// <summary>The last status this object saw.</summary>
    public GlobalTransactionStatus Status { get; private set; }

    /// <summary>
    /// Commits the global transaction. Throws <see cref="GlobalTransactionException"/> when the
    /// coordinator had already rolled it back (e.g. it timed out) or could not decide commit. A
    /// request that gets no answer is followed by a status lookup; only when no coordinator answers
    /// that either does it throw <see cref="GlobalTransactionOutcomeUnknownException"/>.
    /// </summary>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (!IsOriginator)
        {
            return;
        }
        EnsureNotEnded("commit");
        using var activity = AtProxyTelemetry.Start("atproxy.commit", Xid, ActivityKind.Client);
        try
        {
            Status = await _outcomes.CommitAsync(Xid, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(AtProxyTelemetry.StatusTag, Status.ToString());
        }
        catch (Exception ex)
        {
            AtProxyTelemetry.Fail(activity, ex);
            // The decision is unknown; the coordinator's timeout settles it. Do not roll back on dispose
            // over a commit that may have been decided.
            Interlocked.Exchange(ref _ended, 1);
            throw;
        }
        Interlocked.Exchange(ref _ended, 1);
        if (!Status.IsCommitDecided())
        {
            throw new GlobalTransactionException($"Global transaction {Xid} was not committed: the coordinator reports {Status}.", Xid, Status);
        }
    }

    /// <summary>
    /// Rolls the global transaction back and waits for the coordinator's answer: the rollback done,
    /// or still under way when the call timeout ends (<see cref="Status"/> says which). Throws
    /// <see cref="GlobalTransactionException"/> when it cannot be rolled back, and
    /// <see cref="GlobalTransactionOutcomeUnknownException"/> when no coordinator answered (the
    /// coordinator then rolls it back when its timeout passes).
    /// </summary>
    public Task RollbackAsync(CancellationToken cancellationToken = default) =>
        RollbackCoreAsync(RollbackReason.ByTheApplication, cancellationToken);

    /// <summary>
    /// Rolls the global transaction back, as <see cref="RollbackAsync(CancellationToken)"/>, and
    /// records <paramref name="reason"/> in its history with this application as the actor (cut to
    /// 1024 characters), so a person reading <c>atproxy tx show</c> sees why.
    /// </summary>
    /// <param name="reason">Why the application rolls back.</param>
    /// <param name="cancellationToken">Stops waiting for the coordinator's answer.</param>
    public Task RollbackAsync(string reason, CancellationToken cancellationToken = default) =>
        RollbackCoreAsync(RollbackReason.Limit(reason), cancellationToken);

    /// <summary>
    /// Rolls the global transaction back because of <paramref name="cause"/>, as
    /// <see cref="RollbackAsync(CancellationToken)"/>; its type and message are the recorded reason.
    /// </summary>
    /// <param name="cause">The failure that made the application give up.</param>
    /// <param name="cancellationToken">Stops waiting for the coordinator's answer.</param>
    public Task RollbackAsync(Exception cause, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cause);
        return RollbackCoreAsync(RollbackReason.Of(cause), cancellationToken);
    }

    private async Task RollbackCoreAsync(string reason, CancellationToken cancellationToken)
    {
        if (!IsOriginator)
        {
            return;
        }
        EnsureNotEnded("roll back");
        Interlocked.Exchange(ref _ended, 1);
        using var activity = AtProxyTelemetry.Start("atproxy.rollback", Xid, ActivityKind.Client);
        Status = await _outcomes.RollbackAsync(Xid, reason, cancellationToken).ConfigureAwait(false);
        activity?.SetTag(AtProxyTelemetry.StatusTag, Status.ToString());
        if (Status is GlobalTransactionStatus.RollbackFailed or GlobalTransactionStatus.RollbackRetryTimeout)
        {
            throw new GlobalTransactionException($"Global transaction {Xid} could not be rolled back: the coordinator reports {Status}.", Xid, Status);
        }
    }

    /// <summary>Asks the coordinator for the current status.</summary>
    public async Task<GlobalTransactionStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        Status = await _outcomes.Coordinator.GetStatusAsync(Xid, cancellationToken).ConfigureAwait(false);
        return Status;
    }

    /// <summary>Rolls back when neither committed nor rolled back, then leaves the ambient scope.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (IsOriginator && Interlocked.Exchange(ref _ended, 1) == 0)
            {
                using var activity = AtProxyTelemetry.Start("atproxy.rollback", Xid, ActivityKind.Client);
                Status = await _outcomes.RollbackAsync(Xid, RollbackReason.DisposedWithoutCommit, CancellationToken.None).ConfigureAwait(false);
                activity?.SetTag(AtProxyTelemetry.StatusTag, Status.ToString());
            }
        }
        catch (AtProxyException)
        {
            // Dispose often runs while another exception unwinds; do not mask it. The failure is
            // logged with the XID, and the coordinator rolls the transaction back when its timeout passes.
        }
        finally
        {
            _scope.Dispose();
        }
    }

    private void EnsureNotEnded(string what)
    {
        if (Volatile.Read(ref _ended) != 0)
        {
            throw new InvalidOperationException($"Cannot {what} global transaction {Xid}: it was already committed or rolled back ({Status}).");
        }
    }
}
