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

    public static async Task<GlobalTransactionInfo> UntilSettledAsync(AdminConnection admin, string xid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var transaction = (await admin.GetTransactionAsync(xid, cancellationToken)).Transaction;
            if (!IsInProgress(transaction.Status))
            {
                return transaction;
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw CliFailure.Refused(
                    $"'{xid}' is still {Formats.EnumName(transaction.Status)} after {Formats.Duration((long)timeout.TotalMilliseconds)}; phase 2 goes on. Follow it with 'atproxy tx show {xid}'.");
            }
            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>Ended as asked: committed, rolled back, or finished by a person.</summary>
    public static bool EndedWell(GlobalStatus status) =>
        status is GlobalStatus.Committed or GlobalStatus.Rollbacked or GlobalStatus.TimeoutRollbacked or GlobalStatus.Finished;

    private static bool IsInProgress(GlobalStatus status) => status is
        GlobalStatus.Committing or GlobalStatus.CommitRetrying or GlobalStatus.AsyncCommitting or
        GlobalStatus.Rollbacking or GlobalStatus.RollbackRetrying or GlobalStatus.TimeoutRollbacking or GlobalStatus.TimeoutRollbackRetrying;
}
