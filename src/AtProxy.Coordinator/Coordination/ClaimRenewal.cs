using AtProxy.Coordinator.Storage;

namespace AtProxy.Coordinator.Coordination;

/// <summary>
/// Keeps this coordinator's claim on a transaction's phase 2 alive while an attempt runs, by
/// renewing it every third of the lease. When a renewal finds the claim lost (this process
/// stalled past the lease and another coordinator took over), the attempt is cancelled.
/// </summary>
internal sealed class ClaimRenewal : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ClaimRenewal(ICoordinatorStore store, string xid, TimeSpan interval, CancellationTokenSource claimLost)
    {
        _loop = RunAsync(store, xid, interval, claimLost);
    }

    private async Task RunAsync(ICoordinatorStore store, string xid, TimeSpan interval, CancellationTokenSource claimLost)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                bool held;
                try
                {
                    held = await store.RenewClaimAsync(xid);
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
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
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
