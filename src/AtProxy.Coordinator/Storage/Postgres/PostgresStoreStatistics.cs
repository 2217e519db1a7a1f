namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// What the shared store asked of its database: round trips, statements, and changes committed.
/// Published on the coordinator's meter, so a load run can tell what one global transaction costs.
/// </summary>
internal sealed class PostgresStoreStatistics
{
    private long _roundTrips;
    private long _statements;
    private long _commits;
    private long _changes;
    private long _judged;
    private long _unflushed;

    /// <summary>Where each batch's write time is recorded; none when null.</summary>
    public Diagnostics.CoordinatorMetrics? Metrics { get; set; }

    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Database transactions committed by the writer (one per batch).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Changes (scopes, begins) those commits held.</summary>
    public long Changes => Interlocked.Read(ref _changes);

    /// <summary>
    /// Batches whose one-round-trip write was refused by its guard (a change's condition did not
    /// hold) and that were judged change by change instead.
    /// </summary>
    public long JudgedBatches => Interlocked.Read(ref _judged);

    public void Judged() => Interlocked.Increment(ref _judged);

    /// <summary>Of <see cref="Commits"/>, those of the with-next lane, which did not wait for the WAL flush.</summary>
    public long CommitsWithoutFlushWait => Interlocked.Read(ref _unflushed);

    public void RoundTrip(int statements)
    {
        Interlocked.Increment(ref _roundTrips);
        Interlocked.Add(ref _statements, statements);
    }

    public void Committed(int changes, bool waitedForFlush)
    {
        if (changes > 0)
        {
            Interlocked.Increment(ref _commits);
            Interlocked.Add(ref _changes, changes);
            if (!waitedForFlush)
            {
                Interlocked.Increment(ref _unflushed);
            }
        }
    }
}
