using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;

namespace AtProxy.Coordination;

/// <summary>
/// How a call finds a coordinator that answers: which failures mean "not reached" (so the call may
/// be sent again), how long to wait for one coordinator's connection before trying the next, and the
/// pause between attempts.
/// </summary>
internal static class CoordinatorSelection
{
    /// <summary>How long a call waits for one of several coordinators to connect before it tries the next.</summary>
    internal static readonly TimeSpan FailoverAfter = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The call did not get an answer from a coordinator: the connection was refused, reset or
    /// closed under it (Unavailable), or the HTTP/2 stream broke mid-call (Internal with an I/O
    /// cause). A coordinator's own errors are never among them.
    /// </summary>
    public static bool IsTransportFailure(RpcException ex) => ex.StatusCode switch
    {
        StatusCode.Unavailable => true,
        StatusCode.Internal => ex.Status.DebugException is IOException or HttpRequestException || ex.InnerException is IOException or HttpRequestException,
        _ => false,
    };

    /// <summary>
    /// True when <paramref name="channel"/> is connected, or connects within <see cref="FailoverAfter"/>
    /// (and before <paramref name="deadline"/>); false when the caller should try another coordinator.
    /// </summary>
    public static async Task<bool> ConnectsSoonAsync(GrpcChannel channel, DateTime deadline, CancellationToken cancellationToken)
    {
        if (channel.State == ConnectivityState.Ready)
        {
            return true;
        }
        var wait = deadline - DateTime.UtcNow;
        if (wait <= TimeSpan.Zero)
        {
            return false;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait < FailoverAfter ? wait : FailoverAfter);
        try
        {
            await channel.ConnectAsync(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>A short, growing pause before a call is sent again, never past <paramref name="deadline"/>.</summary>
    public static Task PauseBeforeRetryAsync(int attempt, DateTime deadline, CancellationToken cancellationToken)
    {
        var pause = TimeSpan.FromTicks(Math.Min(LongestPause.Ticks, FirstPause.Ticks << Math.Min(attempt, 10)));
        var left = deadline - DateTime.UtcNow;
        if (left <= TimeSpan.Zero)
        {
            return Task.CompletedTask;
        }
        return Task.Delay(pause < left ? pause : left, cancellationToken);
    }
}
