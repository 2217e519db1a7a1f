namespace AtProxy;

/// <summary>Settings of an <see cref="AtProxyClient"/> (bind from configuration section <c>AtProxy</c>).</summary>
public sealed partial class AtProxyOptions
{
    /// <summary>The coordinator's address, e.g. <c>http://127.0.0.1:8091</c>.</summary>
    public Uri? Coordinator { get; set; }

    /// <summary>
    /// Further coordinator instances sharing one store. Transaction calls go to the first one
    /// that answers; resource managers keep a phase-2 stream to every one of them.
    /// </summary>
    public IList<Uri> AdditionalCoordinators { get; set; } = new List<Uri>();

    /// <summary>This application's id (e.g. <c>order-service</c>), shown by the CLI. Required.</summary>
    public string ApplicationId { get; set; } = "";

    /// <summary>The bearer token for the coordinator's application calls, when it requires one.</summary>
    public string? ApplicationToken { get; set; }

    /// <summary>The timeout of a global transaction begun without one (default 60 s).</summary>
    public TimeSpan DefaultTransactionTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long one call to the coordinator may take before it counts as unreachable (default 10 s).
    /// Within it a call waits for a coordinator that is restarting, tries the other configured
    /// coordinators, and is sent again when its connection broke.
    /// </summary>
    public TimeSpan CoordinatorCallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sends the calls to the coordinator (begin, commit, rollback, status, branch registration and
    /// reports, lock checks) batched over one long-lived stream per coordinator instead of one HTTP/2
    /// request each (default true). A coordinator too old to serve the stream gets unary calls
    /// either way; false forces them, for diagnosis.
    /// </summary>
    public bool UseCallStream { get; set; } = true;

    /// <summary>
    /// How long the calls to a coordinator that refused the call stream (one too old to serve it) go as
    /// unary calls before the stream is tried again (default 1 minute): a coordinator upgraded in place
    /// gets the stream back without restarting the application.
    /// </summary>
    public TimeSpan CallStreamRetryInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often branch registration is retried while another global transaction holds a lock (default 30).</summary>
    public int LockRetryCount { get; set; } = 30;

    /// <summary>
    /// The first wait between lock retries; it doubles up to <see cref="LockRetryMaxInterval"/> (default 10 ms).
    /// The coordinator ends a wait early, the moment the row is released.
    /// </summary>
    public TimeSpan LockRetryInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest wait between two lock retries (default 200 ms, at most 10 s).</summary>
    public TimeSpan LockRetryMaxInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The schema of the <c>atproxy_undo_log</c> table; null means the connection's current
    /// schema (the first of its search path).
    /// </summary>
    public string? UndoLogSchema { get; set; }

    /// <summary>Undo records larger than this many bytes are compressed (default 16 KiB).</summary>
    public int UndoCompressionThreshold { get; set; } = 16 * 1024;

    /// <summary>How many committed branches' undo rows are deleted in one statement (default 200).</summary>
    public int UndoDeleteBatchSize { get; set; } = 200;

    /// <summary>
    /// How long disposing an <see cref="AtDbDataSource"/> (or the <see cref="AtProxyClient"/>) waits for
    /// the undo rows of its committed branches to be deleted before it lets go of the database
    /// (default 5 s, at most 5 min; zero does not wait). Rows still queued then stay in the table for the
    /// retention purge.
    /// </summary>
    public TimeSpan UndoDrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How old an undo row of a finished transaction must be before the background purge deletes it
    /// (default 7 days): global-finished markers, and undo rows a committed branch left behind (its
    /// process exited before the background delete). A marker stops a branch's late phase-1 commit
    /// only while it exists, so this must be longer than any global transaction's timeout and any
    /// local transaction's duration; rows are deleted only once the coordinator says their
    /// transaction has ended, or no longer knows it.
    /// </summary>
    public TimeSpan UndoLogRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Keeps the undo rows of committed branches for this long as an audit trail (who changed which
    /// row in which global transaction): phase-2 commit marks them committed instead of deleting
    /// them, and the purge deletes them this long after the commit. Zero (default) turns it off.
    /// </summary>
    public TimeSpan CommittedUndoRetention { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How often each resource's undo log is looked through for rows to purge (default 10 minutes,
    /// each wait jittered by ±20 % so that processes sharing a database spread their passes).
    /// </summary>
    public TimeSpan UndoPurgeInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Undo rows considered per purge batch: one status call to the coordinator and one delete each
    /// (default 500, at most 1,000). A pass runs at most 20 batches.
    /// </summary>
    public int UndoPurgeBatchSize { get; set; } = 500;

    internal IReadOnlyList<Uri> AllCoordinators()
    {
        var all = new List<Uri>();
        if (Coordinator is not null)
        {
            all.Add(Coordinator);
        }
        all.AddRange(AdditionalCoordinators);
        return all;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is missing or out of range.</summary>
    public void Validate()
    {
        if (AllCoordinators().Count == 0)
        {
            throw new ArgumentException("AtProxyOptions.Coordinator must be set (e.g. http://127.0.0.1:8091).");
        }
        if (string.IsNullOrWhiteSpace(ApplicationId) || ApplicationId.Length > 128)
        {
            throw new ArgumentException("AtProxyOptions.ApplicationId must be 1..128 characters (e.g. \"order-service\").");
        }
        if (DefaultTransactionTimeout <= TimeSpan.Zero || DefaultTransactionTimeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentException("AtProxyOptions.DefaultTransactionTimeout must be between 1 ms and 24 h.");
        }
        if (LockRetryCount < 0)
        {
            throw new ArgumentException("AtProxyOptions.LockRetryCount cannot be negative.");
        }
        if (LockRetryInterval <= TimeSpan.Zero || LockRetryMaxInterval < LockRetryInterval || LockRetryMaxInterval > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentException("AtProxyOptions.LockRetryInterval must be positive and at most LockRetryMaxInterval, which is at most 10 s.");
        }
        if (UndoDrainTimeout < TimeSpan.Zero || UndoDrainTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException("AtProxyOptions.UndoDrainTimeout must be between 0 and 5 min.");
        }
        ValidateUndoRetention();
    }
}
