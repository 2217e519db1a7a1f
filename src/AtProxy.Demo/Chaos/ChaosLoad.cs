using AtProxy.Demo.Contracts;
using AtProxy.Demo.Scenario;

namespace AtProxy.Demo.Chaos;

/// <summary>
/// Places a run's orders with the order service from a few concurrent workers, each waiting while
/// a killed process is started again, and keeps every answer (with its XID when one came back).
/// </summary>
internal static class ChaosLoad
{
    private static readonly TimeSpan RefusedRetryInterval = TimeSpan.FromMilliseconds(100);

    public static async Task<IReadOnlyList<OrderResult>> RunAsync(Uri orderService, RunPlan plan, int concurrency, FaultWatcher watcher, CancellationToken cancellationToken)
    {
        using var client = new OrderServiceClient(orderService);
        var results = new OrderResult[plan.Orders.Count];
        var next = -1;
        async Task WorkAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < results.Length)
            {
                await watcher.AllRunning.WaitAsync(cancellationToken);
                watcher.OrderStarted();
                // A refused connection sent nothing: the order waits for the restart and goes again.
                results[index] = await client.PlaceAsync(plan.Orders[index].ToRequest(), cancellationToken,
                    () => Task.WhenAll(Task.Delay(RefusedRetryInterval, cancellationToken), watcher.AllRunning));
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkAsync, cancellationToken)));
        return results;
    }
}
