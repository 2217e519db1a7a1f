using Grpc.Core;

namespace AtProxy.Coordinator.Services;

/// <summary>
/// A call that waits (for a rollback to finish, for a lock to be released) must still answer before
/// the caller's deadline: an answer that arrives after it is lost, and the caller is left not knowing
/// an outcome the coordinator knew. The wait therefore ends a little before the deadline, and the
/// call answers with what it knows then (e.g. a rollback still under way).
/// </summary>
internal sealed class AnswerInTime : IDisposable
{
    /// <summary>The share of the time left that is kept for the answer to travel back, at most <see cref="LongestMargin"/>.</summary>
    private const double MarginShare = 0.1;
    private static readonly TimeSpan LongestMargin = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _waitEnds;

    public AnswerInTime(ServerCallContext context)
        : this(context.Deadline, context.CancellationToken)
    {
    }

    /// <param name="deadline">When the caller stops waiting for the answer (UTC); <see cref="DateTime.MaxValue"/> for never.</param>
    /// <param name="callEnds">Cancelled when the caller went away.</param>
    public AnswerInTime(DateTime deadline, CancellationToken callEnds)
    {
        _waitEnds = CancellationTokenSource.CreateLinkedTokenSource(callEnds);
        if (deadline != DateTime.MaxValue)
        {
            var left = deadline - DateTime.UtcNow;
            var margin = TimeSpan.FromTicks(Math.Min(LongestMargin.Ticks, (long)(left.Ticks * MarginShare)));
            _waitEnds.CancelAfter(left - margin > TimeSpan.Zero ? left - margin : TimeSpan.Zero);
        }
    }

    /// <summary>Cancelled when the waiting must stop to answer in time, or the caller went away.</summary>
    public CancellationToken WaitEnds => _waitEnds.Token;

    public void Dispose() => _waitEnds.Dispose();
}
