namespace AtProxy.Coordinator.Configuration;

/// <summary>
/// The coordinator's settings, bound from the <c>Coordinator</c> configuration section
/// (appsettings.json, <c>ATPROXY_COORDINATOR__*</c> environment variables, the command line).
/// </summary>
public sealed class CoordinatorOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Coordinator";

    /// <summary>The contract's upper bound for a transaction timeout: 24 hours.</summary>
    public const uint ContractMaxTimeoutMs = 86_400_000;

    /// <summary>The contract's upper bound for the lock keys of one branch registration.</summary>
    public const int ContractMaxLockKeys = 100_000;

    /// <summary>
    /// This coordinator's name, the first part of every XID it issues ("node:sequence").
    /// Letters, digits, '.', '_' and '-' only.
    /// </summary>
    public string NodeId { get; set; } = "tc";

    /// <summary>The store kind: <see cref="StoreKind.Embedded"/> (default), <see cref="StoreKind.Postgres"/> or <see cref="StoreKind.Memory"/>.</summary>
    public StoreKind Store { get; set; } = StoreKind.Embedded;

    /// <summary>The PostgreSQL store's Npgsql connection string (<c>--store-connection</c>); required for <see cref="StoreKind.Postgres"/>.</summary>
    public string? StoreConnection { get; set; }

    /// <summary>
    /// The schema of the PostgreSQL store's tables; created when missing. Coordinators that
    /// work together name the same database and schema.
    /// </summary>
    public string StoreSchema { get; set; } = "atproxy_coordinator";

    /// <summary>
    /// How long a coordinator's claim on a transaction's phase 2 lasts without renewal (PostgreSQL
    /// store). A coordinator that dies stops renewing; another takes the work over after this long.
    /// </summary>
    public int LeaseMs { get; set; } = 15_000;

    /// <summary>
    /// The PostgreSQL store writes every lock grant and release to its <c>lock_grant</c> table too,
    /// stamped by the database clock: an audit trail that shows no key was held by two transactions
    /// at once, kept for <see cref="EndedRetentionMs"/> after the release. Off by default: it doubles
    /// every lock write, and nothing in the coordinator, the CLI or the console reads it (the primary
    /// key of <c>global_lock</c> is what keeps a key from being granted twice). Turn it on to check a
    /// deployment's locking, or in tests.
    /// </summary>
    public bool StoreLockAudit { get; set; }

    /// <summary>
    /// The embedded store's directory; relative paths are resolved against the working directory.
    /// Unset: <c>atproxy/coordinator/&lt;NodeId&gt;</c> under the user's local application data
    /// (<c>~/.local/share</c> on Linux), never the working directory.
    /// </summary>
    public string? DataDir { get; set; }

    /// <summary>The timeout given to a transaction begun with <c>timeout_ms = 0</c>.</summary>
    public uint DefaultTimeoutMs { get; set; } = 60_000;

    /// <summary>The largest timeout a transaction may ask for (at most 24 hours).</summary>
    public uint MaxTimeoutMs { get; set; } = ContractMaxTimeoutMs;

    /// <summary>The most lock keys one branch may register (at most 100,000).</summary>
    public int MaxLockKeysPerBranch { get; set; } = ContractMaxLockKeys;

    /// <summary>How long one phase-2 command waits for the resource manager's answer.</summary>
    public int BranchCommandTimeoutMs { get; set; } = 30_000;

    /// <summary>The first phase-2 retry delay; doubled after every failed attempt.</summary>
    public int RetryInitialDelayMs { get; set; } = 1_000;

    /// <summary>The cap of the phase-2 retry delay.</summary>
    public int RetryMaxDelayMs { get; set; } = 60_000;

    /// <summary>The value of <see cref="MaxCommitRetryMs"/> and <see cref="MaxRollbackRetryMs"/> that retries without end.</summary>
    public const long RetryForever = -1;

    /// <summary>
    /// How long phase-2 commit retries go on, counted from the commit decision (or a person's retry),
    /// before the transaction stops in COMMIT_RETRY_TIMEOUT for a person to resume; <see cref="RetryForever"/>
    /// (-1) retries without end. Locks are released at the decision; what waits is the branches' undo cleanup.
    /// </summary>
    public long MaxCommitRetryMs { get; set; } = 86_400_000;

    /// <summary>
    /// How long phase-2 rollback retries go on, counted from the rollback decision (or a person's retry),
    /// before the transaction stops in ROLLBACK_RETRY_TIMEOUT with its locks held for a person to resume;
    /// <see cref="RetryForever"/> (-1) retries without end.
    /// </summary>
    public long MaxRollbackRetryMs { get; set; } = 3_600_000;

    /// <summary>
    /// Where alerts are POSTed as JSON (http or https); none when empty. Delivery is retried a few
    /// times with back-off off the phase-2 path; a failure is logged.
    /// </summary>
    public string? AlertWebhookUrl { get; set; }

    /// <summary>
    /// A transaction still not ended this long after its begin raises an "unfinished" alert, once;
    /// 0 turns the alert off.
    /// </summary>
    public long UnfinishedAlertAfterMs { get; set; } = 600_000;

    /// <summary>
    /// A branch whose phase 2 failed more than this many times in a row (retryable failures) raises a
    /// "branch_failures" alert, once per transaction; 0 turns the alert off.
    /// </summary>
    public int BranchFailureAlertThreshold { get; set; } = 10;

    /// <summary>How often the background loop looks for timed-out and due transactions.</summary>
    public int SweepIntervalMs { get; set; } = 200;

    /// <summary>How long an ended transaction stays visible (status, admin) before it is purged.</summary>
    public int EndedRetentionMs { get; set; } = 60_000;

    /// <summary>
    /// How long an intervention stays in the audit (<c>ListInterventions</c>, <c>atproxy audit list</c>),
    /// independent of its transaction's retention. Default 90 days.
    /// </summary>
    public long InterventionRetentionMs { get; set; } = 90L * 24 * 60 * 60 * 1000;

    /// <summary>The embedded log is compacted once it grows past this size (and past four times the last snapshot).</summary>
    public long CompactionThresholdBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The bearer token application calls (transaction and resource managers) must present;
    /// empty means application calls need no token.
    /// </summary>
    public string? ApplicationToken { get; set; }

    /// <summary>
    /// The bearer token admin calls must present; when empty, admin calls need the application
    /// token if one is set, and nothing otherwise.
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>
    /// Where the admin endpoint listens (HTTP/1.1): the operator console, <c>/metrics</c> and
    /// <c>/healthz</c>; several URLs are separated by ';', each with an explicit port other than the
    /// gRPC port (<c>--admin-urls http://127.0.0.1:8092</c>). Empty: no admin endpoint. Without an
    /// admin token (<see cref="AdminToken"/>, else <see cref="ApplicationToken"/>) only loopback
    /// addresses are accepted: anyone who reaches the endpoint can intervene.
    /// </summary>
    public string? AdminUrls { get; set; }

    /// <summary>
    /// When set, the coordinator stops once the process with this id has exited (a test host
    /// that started it and died must not leave it running).
    /// </summary>
    public int? ParentProcessId { get; set; }

    /// <summary>
    /// Serves the <c>Calls</c> stream (the application's calls batched over one stream per
    /// connection). False makes the coordinator answer it UNIMPLEMENTED like an older one, so
    /// applications use the unary calls; for diagnosis.
    /// </summary>
    public bool ServeCallStream { get; set; } = true;
}
