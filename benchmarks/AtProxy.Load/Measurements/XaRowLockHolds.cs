using System.Diagnostics;

namespace AtProxy.Load.Measurements;

/// <summary>
/// PostgreSQL's row lock on the stock row in XA mode, timed by the driver: from the moment the
/// UPDATE returned (the row is locked; waiting for the lock is not counted as holding it) until
/// COMMIT PREPARED (or ROLLBACK) of that branch returned. The round trip of the release is
/// included, as the release's network leg is in AtProxy's hold time too.
/// </summary>
internal sealed class XaRowLockHolds : ILockHoldMeasurement
{
    private readonly Lock _gate = new();
    private List<double> _holds = new(capacity: 65_536);

    /// <summary>A branch that locked the stock row at <paramref name="lockedTimestamp"/> has let go of it now.</summary>
    public void Released(long lockedTimestamp)
    {
        var ms = Stopwatch.GetElapsedTime(lockedTimestamp).TotalMilliseconds;
        lock (_gate)
        {
            _holds.Add(ms);
        }
    }

    public void Start(TimeSpan run)
    {
        lock (_gate)
        {
            _holds = new List<double>(capacity: 65_536);
        }
    }

    public Task<LockHoldTimes?> StopAsync(Action<string> problem)
    {
        List<double> holds;
        lock (_gate)
        {
            holds = _holds;
            _holds = [];
        }
        return Task.FromResult<LockHoldTimes?>(LockHoldTimes.Of(holds));
    }
}
