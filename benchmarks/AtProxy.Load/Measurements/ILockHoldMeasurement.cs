namespace AtProxy.Load.Measurements;

/// <summary>Measures how long one mode holds the lock on the row a hot SKU is: started before a measured run, read after it settled.</summary>
internal interface ILockHoldMeasurement
{
    /// <summary>Forgets earlier holds and starts measuring.</summary>
    void Start(TimeSpan run);

    /// <summary>The holds since <see cref="Start"/>; null when they could not be read (the reason is in <paramref name="problem"/>).</summary>
    Task<LockHoldTimes?> StopAsync(Action<string> problem);
}
