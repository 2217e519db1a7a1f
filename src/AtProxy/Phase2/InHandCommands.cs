using System.Collections.Concurrent;

namespace AtProxy.Phase2;

/// <summary>The phase-2 commands a stream has received and not answered yet.</summary>
internal sealed class InHandCommands
{
    private readonly ConcurrentDictionary<Task, byte> _handling = new();

    public void Track(Task handling)
    {
        _handling[handling] = 0;
        _ = handling.ContinueWith(done => _handling.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Ends a stream gracefully: once every command in hand is answered (or after
    /// <paramref name="grace"/>), <paramref name="complete"/> half-closes it so the coordinator reads
    /// every answer before it sees the end; <paramref name="stream"/> is cancelled if the coordinator
    /// has not ended the call within <paramref name="grace"/> after that.
    /// </summary>
    public void EndWhenAnswered(Func<Task> complete, CancellationTokenSource stream, TimeSpan grace) => _ = Task.Run(async () =>
    {
        try
        {
            await Task.WhenAll(_handling.Keys).WaitAsync(grace).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Late or failed answers: the coordinator resends what it did not get.
        }
        try
        {
            await complete().WaitAsync(grace).ConfigureAwait(false);
            stream.CancelAfter(grace);
        }
        catch (ObjectDisposedException)
        {
            // The stream ended by itself meanwhile.
        }
        catch (Exception)
        {
            try
            {
                stream.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    });
}
