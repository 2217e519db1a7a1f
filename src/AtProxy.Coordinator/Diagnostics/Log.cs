using Microsoft.Extensions.Logging;

namespace AtProxy.Coordinator;

/// <summary>Every log message of the coordinator, with its event id, in one place.</summary>
internal static partial class Log
{
    // 1xx: lifecycle and store
    [LoggerMessage(100, LogLevel.Information, "Coordinator {NodeId} serving on {Addresses} with the {StoreKind} store")]
    public static partial void Serving(ILogger logger, string nodeId, string addresses, string storeKind);

    [LoggerMessage(101, LogLevel.Information, "Created a new embedded store log {Path}")]
    public static partial void StoreCreated(ILogger logger, string path);

    [LoggerMessage(102, LogLevel.Information, "Recovered {Records} records from {Path}: {Sessions} transactions, {Locks} locks held ({Milliseconds:0} ms)")]
    public static partial void StoreRecovered(ILogger logger, string path, long records, int sessions, long locks, double milliseconds);

    [LoggerMessage(103, LogLevel.Warning, "Dropped {Bytes} bytes at the end of {Path}: a write torn by a crash ({Damage}); it was never acknowledged")]
    public static partial void TornTailDropped(ILogger logger, string path, long bytes, string damage);

    [LoggerMessage(104, LogLevel.Critical, "Writing to the embedded store {Path} failed; the store accepts no more changes until the coordinator restarts")]
    public static partial void StoreWriteFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(105, LogLevel.Error, "Applying a durable {Kind} record failed")]
    public static partial void ApplyFailed(ILogger logger, Exception exception, string kind);

    [LoggerMessage(106, LogLevel.Information, "Compacted the embedded store log from {OldBytes} to {NewBytes} bytes ({Sessions} transactions, {Milliseconds:0} ms)")]
    public static partial void Compacted(ILogger logger, long oldBytes, long newBytes, long sessions, double milliseconds);

    [LoggerMessage(107, LogLevel.Error, "Compacting the embedded store in {Directory} failed; the current log is kept")]
    public static partial void CompactionFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(108, LogLevel.Error, "The background sweep failed")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(109, LogLevel.Error, "Purging the ended transaction {Xid} failed")]
    public static partial void PurgeFailed(ILogger logger, Exception exception, string xid);

    [LoggerMessage(110, LogLevel.Error, "Starting the timeout rollback of {Xid} failed; the next sweep tries again")]
    public static partial void TimeoutRollbackFailed(ILogger logger, Exception exception, string xid);

    [LoggerMessage(111, LogLevel.Information, "Opened the PostgreSQL store ({Host}, schema {Schema} at version {Version}) as instance {InstanceId}")]
    public static partial void PostgresStoreOpened(ILogger logger, string host, string schema, int version, string instanceId);

    [LoggerMessage(112, LogLevel.Information, "The embedded store's data directory is {Directory}")]
    public static partial void DataDirectory(ILogger logger, string directory);

    [LoggerMessage(113, LogLevel.Information, "Application calls: {Application}; admin calls: {Admin}")]
    public static partial void CallProtection(ILogger logger, string application, string admin);

    [LoggerMessage(114, LogLevel.Warning, "The PostgreSQL store's notifications stopped; lock waits and phase-2 hand-offs poll until they listen again")]
    public static partial void PostgresListenFailed(ILogger logger, Exception exception);

    [LoggerMessage(115, LogLevel.Warning, "The PostgreSQL store's database has no LISTEN/NOTIFY ({Reason}); lock waits and phase-2 hand-offs poll")]
    public static partial void PostgresListenUnsupported(ILogger logger, string reason);

    // 2xx: transactions
    [LoggerMessage(200, LogLevel.Debug, "Begun {Xid} '{Name}' for {ApplicationId}, timeout {TimeoutMs} ms")]
    public static partial void Begun(ILogger logger, string xid, string name, string applicationId, uint timeoutMs);

    [LoggerMessage(201, LogLevel.Debug, "Registered branch {BranchId} of {Xid} on {ResourceId} with {Keys} lock keys")]
    public static partial void BranchRegistered(ILogger logger, string xid, long branchId, string resourceId, int keys);

    [LoggerMessage(202, LogLevel.Debug, "Lock conflict: {Xid} asked for {ResourceId}/{Table}:{PrimaryKey}, held by {HolderXid}")]
    public static partial void LockConflict(ILogger logger, string xid, string resourceId, string table, string primaryKey, string holderXid);

    [LoggerMessage(203, LogLevel.Debug, "Commit of {Xid} decided: {Status}")]
    public static partial void CommitDecided(ILogger logger, string xid, string status);

    [LoggerMessage(204, LogLevel.Information, "Rollback of {Xid} decided by the application")]
    public static partial void RollbackDecided(ILogger logger, string xid);

    [LoggerMessage(205, LogLevel.Warning, "{Xid} was not decided within its timeout of {TimeoutMs} ms; rolling it back")]
    public static partial void TimedOut(ILogger logger, string xid, uint timeoutMs);

    // 3xx: phase 2
    [LoggerMessage(300, LogLevel.Debug, "Phase 2 of {Xid} ended in {Status} ({Branches} branches, {Attempts} attempts)")]
    public static partial void PhaseTwoCompleted(ILogger logger, string xid, string status, int branches, int attempts);

    [LoggerMessage(301, LogLevel.Warning, "Phase 2 of {Xid} will be retried in {DelayMs} ms: branch {BranchId} on {ResourceId}: {Reason}")]
    public static partial void PhaseTwoRetryScheduled(ILogger logger, string xid, long branchId, string resourceId, long delayMs, string reason);

    [LoggerMessage(302, LogLevel.Error, "Phase 2 of {Xid} stopped in {Status}: branch {BranchId} on {ResourceId} cannot finish ({Reason}); a person must decide")]
    public static partial void PhaseTwoStopped(ILogger logger, string xid, string status, long branchId, string resourceId, string reason);

    [LoggerMessage(303, LogLevel.Error, "A phase-2 attempt of {Xid} failed unexpectedly; it will be retried")]
    public static partial void PhaseTwoAttemptCrashed(ILogger logger, Exception exception, string xid);

    [LoggerMessage(304, LogLevel.Error, "Phase 2 of {Xid} stopped in {Status}: its retries ran past {BudgetMs} ms; branch {BranchId} on {ResourceId}: {Reason}. Locks held: {LocksHeld}; a person must resume it (atproxy tx retry)")]
    public static partial void PhaseTwoRetryTimedOut(ILogger logger, string xid, string status, long budgetMs, long branchId, string resourceId, string reason, bool locksHeld);

    // 35x: alerts
    [LoggerMessage(350, LogLevel.Error, "Alert {Kind} for {Xid} ({Status}): {Message}")]
    public static partial void AlertRaisedForStopped(ILogger logger, string kind, string xid, string status, string message);

    [LoggerMessage(351, LogLevel.Warning, "Alert {Kind} for {Xid} ({Status}): {Message}")]
    public static partial void AlertRaised(ILogger logger, string kind, string xid, string status, string message);

    [LoggerMessage(352, LogLevel.Error, "Alert {Kind} for {Xid} was dropped: {Capacity} alerts are already waiting for delivery")]
    public static partial void AlertDropped(ILogger logger, string kind, string xid, int capacity);

    [LoggerMessage(353, LogLevel.Error, "The alert observer {Observer} failed on the alert for {Xid}")]
    public static partial void AlertObserverFailed(ILogger logger, Exception exception, string observer, string xid);

    [LoggerMessage(354, LogLevel.Debug, "Delivering alert {Kind} for {Xid} to {Url} failed (attempt {Attempt}): {Reason}; trying again")]
    public static partial void AlertDeliveryRetried(ILogger logger, string kind, string xid, Uri url, int attempt, string reason);

    [LoggerMessage(355, LogLevel.Error, "Alert {Kind} for {Xid} could not be delivered to {Url} after {Attempts} attempts: {Reason}")]
    public static partial void AlertDeliveryFailed(ILogger logger, string kind, string xid, Uri url, int attempts, string reason);

    [LoggerMessage(356, LogLevel.Error, "Checking for alerts failed; the next pass tries again")]
    public static partial void AlertCheckFailed(ILogger logger, Exception exception);

    // 4xx: resource managers
    [LoggerMessage(400, LogLevel.Information, "Resource manager {InstanceId} of {ApplicationId} subscribed for {ResourceIds} from {Peer}")]
    public static partial void ResourceManagerConnected(ILogger logger, string instanceId, string applicationId, string resourceIds, string peer);

    [LoggerMessage(401, LogLevel.Information, "Resource manager {InstanceId} of {ApplicationId} disconnected")]
    public static partial void ResourceManagerDisconnected(ILogger logger, string instanceId, string applicationId);

    [LoggerMessage(402, LogLevel.Warning, "Resource manager {InstanceId} answered command {CorrelationId}, which is not waiting (late or unknown)")]
    public static partial void UnexpectedResult(ILogger logger, string instanceId, long correlationId);

    // 41x: the application's call stream
    [LoggerMessage(410, LogLevel.Error, "A {Kind} request on the call stream from {Peer} failed unexpectedly; answered INTERNAL")]
    public static partial void StreamedCallFailed(ILogger logger, string kind, string peer, Exception exception);

    // 5xx: operators
    [LoggerMessage(500, LogLevel.Warning, "Intervention {What} on {Xid} by {Actor}: {Reason}")]
    public static partial void Intervention(ILogger logger, string what, string xid, string actor, string reason);

    [LoggerMessage(501, LogLevel.Warning, "Refused a call to {Method} from {Peer}: {Why}")]
    public static partial void Unauthenticated(ILogger logger, string method, string peer, string why);

    // 51x: the admin endpoint (operator console)
    [LoggerMessage(510, LogLevel.Warning, "Refused a console sign-in from {Peer}: wrong admin token")]
    public static partial void ConsoleSignInRefused(ILogger logger, string peer);

    [LoggerMessage(511, LogLevel.Information, "{Actor} signed in to the console from {Peer}")]
    public static partial void ConsoleSignedIn(ILogger logger, string actor, string peer);

    [LoggerMessage(513, LogLevel.Warning, "Refused an admin token check from {Peer}: too many wrong tokens, refused for {Seconds} s more")]
    public static partial void AdminTokenThrottled(ILogger logger, string peer, int seconds);

    [LoggerMessage(512, LogLevel.Information, "Admin endpoint (console, /metrics, /healthz) on {Urls}: {Protection}")]
    public static partial void AdminEndpoint(ILogger logger, string urls, string protection);
}
