namespace AtProxy;

public sealed partial class AtProxyOptions
{
    private void ValidateUndoRetention()
    {
        if (UndoLogRetention <= TimeSpan.Zero)
        {
            throw new ArgumentException("AtProxyOptions.UndoLogRetention must be positive (default 7 days; longer than any global transaction's timeout).");
        }
        if (CommittedUndoRetention < TimeSpan.Zero)
        {
            throw new ArgumentException("AtProxyOptions.CommittedUndoRetention cannot be negative (zero turns the audit retention off).");
        }
        if (UndoPurgeInterval <= TimeSpan.Zero || UndoPurgeInterval > TimeSpan.FromDays(1))
        {
            throw new ArgumentException("AtProxyOptions.UndoPurgeInterval must be between 1 ms and 24 h.");
        }
        if (UndoPurgeBatchSize is < 1 or > 1000)
        {
            throw new ArgumentException("AtProxyOptions.UndoPurgeBatchSize must be 1..1000.");
        }
    }
}
