using AtProxy.Cli.Undo;
using AtProxy.Protocol.V1;
using AtProxy.Transactions;

namespace AtProxy.Cli.Coordinator;

/// <summary>
/// Asks the coordinator how the transactions of undo rows ended, many XIDs per call. A coordinator
/// that cannot be asked turns every answer into "unknown" with the reason: reading an undo log
/// never fails for want of a coordinator.
/// </summary>
internal static class TransactionStatusLookup
{
    private const int MaxPerCall = 1000;

    public static async Task<IReadOnlyDictionary<string, TransactionOutcome>> LookUpAsync(CliContext context, IEnumerable<string> xids, CancellationToken cancellationToken)
    {
        var outcomes = new Dictionary<string, TransactionOutcome>(StringComparer.Ordinal);
        var asked = new List<string>();
        foreach (var xid in xids.Distinct(StringComparer.Ordinal))
        {
            // Anything not of the coordinator's form it would refuse to look up.
            if (Xid.IsWellFormed(xid))
            {
                asked.Add(xid);
            }
            else
            {
                outcomes[xid] = new TransactionOutcome(OutcomeKind.Unknown, null, "not an XID of a coordinator");
            }
        }
        if (asked.Count == 0)
        {
            return outcomes;
        }
        try
        {
            using var coordinator = context.ConnectToCoordinator();
            foreach (var chunk in asked.Chunk(MaxPerCall))
            {
                var response = await coordinator.GetStatusesAsync(chunk, cancellationToken);
                foreach (var status in response.Statuses)
                {
                    outcomes[status.Xid] = TransactionOutcome.Of(status.Status);
                }
            }
        }
        catch (CliFailure failure)
        {
            var note = failure.ExitCode == ExitCodes.Unreachable ? "coordinator unreachable" : "the coordinator refused the status call";
            foreach (var xid in asked)
            {
                outcomes.TryAdd(xid, new TransactionOutcome(OutcomeKind.Unreachable, null, note));
            }
        }
        return outcomes;
    }
}
