using AtProxy.Cli.Coordinator;
using AtProxy.Cli.Rendering;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Commands;

/// <summary>
/// For --wait: an intervention only starts phase 2, so follow the transaction until phase 2 has
/// settled (ended, or stopped again for a person) or the wait runs out.
/// </summary>
internal static class PhaseTwoWait
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Follows the transaction until phase 2 settles; <paramref name="progress"/> hears each new
    /// status or change of what it waits for, so a long wait says why it is long.
    /// </summary>
    public static async Task<GlobalTransactionInfo> UntilSettledAsync(
        AdminConnection admin, string xid, TimeSpan timeout, Action<GlobalTransactionInfo> progress, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        (GlobalStatus, string)? reported = null;
        while (true)
        {
            var transaction = (await admin.GetTransactionAsync(xid, cancellationToken)).Transaction;
            if (!IsInProgress(transaction.Status))
            {
                return transaction;
            }
            // The seconds to the next attempt change on every look; what is waited for is the news.
            var now = (transaction.Status, WithoutCountdown(transaction.WaitingFor));
            if (reported != now)
            {
                reported = now;
                progress(transaction);
            }
            if (DateTime.UtcNow >= deadline)
            {
                var waiting = transaction.WaitingFor.Length > 0 ? $": {transaction.WaitingFor}{Hint(transaction.WaitingFor)}" : "";
                throw CliFailure.Refused(
                    $"'{xid}' is still {Formats.EnumName(transaction.Status)} after {Formats.Duration((long)timeout.TotalMilliseconds)}{waiting}. " +
                    $"Phase 2 goes on; follow it with 'atproxy tx show {xid}'.");
            }
            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>What a person can do about a wait, when the CLI knows.</summary>
    public static string Hint(string waitingFor) =>
        waitingFor.Contains("no resource manager for", StringComparison.Ordinal)
            ? " (the application that owns the resource must be running: its resource manager connects to the coordinator when it starts using its data source)"
            : "";

    private static string WithoutCountdown(string waitingFor)
    {
        var at = waitingFor.IndexOf("; next attempt", StringComparison.Ordinal);
        at = at < 0 ? waitingFor.IndexOf("next attempt", StringComparison.Ordinal) : at;
        var cut = at < 0 ? waitingFor : waitingFor[..at];
        var timeout = cut.IndexOf(" (timeout in", StringComparison.Ordinal);
        return timeout < 0 ? cut : cut[..timeout];
    }

    /// <summary>Ended as asked: committed, rolled back, or finished by a person.</summary>
    public static bool EndedWell(GlobalStatus status) =>
        status is GlobalStatus.Committed or GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.Finished;

    private static bool IsInProgress(GlobalStatus status) => status is
        GlobalStatus.Committing or GlobalStatus.CommitRetrying or GlobalStatus.AsyncCommitting or
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying or GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying;
}
