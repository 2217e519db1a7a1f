using AtProxy.Coordinator.Storage;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// Keeps this coordinator's claim on a transaction's phase 2 alive while an attempt runs, by
/// renewing it every third of the lease. When a renewal finds the claim lost (this process
/// stalled past the lease and another coordinator took over), the attempt is cancelled.
/// </summary>
internal sealed class ClaimRenewal : IAsyncDisposable
{
    // Stopped by disposing it (the wait then ends with false), not by a cancellation: most attempts
    // end before the first renewal, and a cancelled wait would throw for each of them.
    private readonly PeriodicTimer _timer;
    private readonly Task _loop;
    private volatile bool _stopping;

    public ClaimRenewal(ICoordinatorStore store, string xid, TimeSpan interval, CancellationTokenSource claimLost)
    {
        _timer = new PeriodicTimer(interval);
        _loop = RunAsync(store, xid, claimLost);
    }

    private async Task RunAsync(ICoordinatorStore store, string xid, CancellationTokenSource claimLost)
    {
        while (await _timer.WaitForNextTickAsync())
        {
            bool held;
            try
            {
                held = await store.RenewClaimAsync(xid);
            }
            catch (Exception) when (!_stopping)
            {
                continue; // the store is unreachable for now; the lease still runs
            }
            if (!held)
            {
                await claimLost.CancelAsync();
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _timer.Dispose();
        await _loop;
    }
}
