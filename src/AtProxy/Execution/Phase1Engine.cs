using System.Data;
using System.Data.Common;
using System.Diagnostics;
using AtProxy.Diagnostics;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Transactions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Execution;

/// <summary>
/// Phase 1 of a branch, shared by every front door (command, batch, transaction commit): runs the
/// application's statements with their images inside a local transaction and, at local commit,
/// registers the branch (acquiring the global locks) and writes the undo log in that same transaction.
/// </summary>
internal sealed class Phase1Engine(AtProxyClient client)
{
    private readonly ILogger _logger = client.LoggerFactory.CreateLogger("AtProxy.Phase1");

    public SqlRecognizer Recognizer { get; } = SqlRecognizer.Shared;

    /// <summary>Runs between branch registration and the undo insert; lets tests widen that window.</summary>
    internal Func<string, long, Task>? AfterBranchRegistered { get; set; }

    /// <summary>
    /// Runs the units inside the ambient global transaction (or GlobalLock scope): inside the
    /// application's local transaction when there is one, else as a local transaction and branch
    /// of their own.
    /// </summary>
    /// <param name="connection">The provider's own open connection (never a wrapper).</param>
    /// <param name="resource">The database as the coordinator knows it.</param>
    /// <param name="transaction">The application's local transaction on it, if any.</param>
    /// <param name="branchOf">The branch of that local transaction, created on first use.</param>
    /// <param name="units">What the application asked to run.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The result, or null when nothing in the units needs the proxy (the caller runs them plainly).</returns>
    public async Task<ExecutionResult?> ExecuteAsync(
        DbConnection connection, Resources.Resource resource, DbTransaction? transaction, Func<string?, LocalBranch>? branchOf,
        IReadOnlyList<StatementUnit> units, CancellationToken cancellationToken)
    {
        var xid = GlobalTransactionContext.CurrentXid;
        var plan = Plan(units);
        if (!plan.NeedsProxy)
        {
            return null;
        }
        if (connection.State != ConnectionState.Open)
        {
            throw new InvalidOperationException("The connection is not open.");
        }

        if (transaction is not null && branchOf is not null)
        {
            var branch = branchOf(xid);
            if (branch.Xid != xid)
            {
                throw new AtProxyException($"This local transaction already belongs to global transaction {branch.Xid ?? "(GlobalLock scope)"}; it cannot also run statements of {xid ?? "a GlobalLock scope"}.");
            }
            return await RunStatementsAsync(connection, transaction, plan, units, branch, cancellationToken);
        }
        return await RunAutocommitAsync(connection, resource, plan, units, xid, cancellationToken);
    }

    /// <summary>The branch of a local transaction on an <see cref="AtDbConnection"/>.</summary>
    public Task<ExecutionResult?> ExecuteAsync(AtDbConnection connection, AtDbTransaction? transaction, IReadOnlyList<StatementUnit> units, CancellationToken cancellationToken) =>
        ExecuteAsync(connection.WrappedConnection, connection.Resource, transaction?.WrappedTransaction,
            transaction is null ? null : xid => transaction.Branch ??= new LocalBranch(xid, connection.Resource, client),
            units, cancellationToken);

    /// <summary>
    /// An autocommit statement in a global transaction is a local transaction and branch of its own.
    /// On a lock conflict it waits once, briefly, for the release; if the lock is still held the local
    /// transaction is rolled back before waiting longer (so the holder's phase-2 rollback is never
    /// blocked by our row locks for more than that first step) and the statement runs again.
    /// </summary>
    private async Task<ExecutionResult> RunAutocommitAsync(DbConnection connection, Resources.Resource resource, ExecutionPlan plan, IReadOnlyList<StatementUnit> units, string? xid, CancellationToken cancellationToken)
    {
        var options = client.Options;
        var backoff = new LockBackoff(client, resource.Id, xid);
        for (var attempt = 0; ; attempt++)
        {
            var inner = await connection.BeginTransactionAsync(cancellationToken);
            var branch = new LocalBranch(xid, resource, client);
            try
            {
                var result = await RunStatementsAsync(connection, inner, plan, units, branch, cancellationToken);
                if (branch.IsEmpty)
                {
                    await inner.CommitAsync(cancellationToken);
                }
                else
                {
                    // One short wait with our row locks held: the holder usually only waits for its
                    // commit decision, which needs none of our rows, and running the statement again
                    // costs more. A holder rolling back needs them, so the wait stays one back-off step.
                    await CommitBranchAsync(connection, inner, branch, cancellationToken, lockRetries: 1);
                }
                return result;
            }
            catch (GlobalLockConflictException conflict) when (attempt < options.LockRetryCount)
            {
                // Our local transaction is rolled back already: the wait holds no row locks.
                await backoff.WaitAsync(conflict, cancellationToken);
            }
            finally
            {
                await inner.DisposeAsync();
            }
        }
    }

    private static async Task<ExecutionResult> RunStatementsAsync(DbConnection connection, DbTransaction transaction, ExecutionPlan plan, IReadOnlyList<StatementUnit> units, LocalBranch branch, CancellationToken cancellationToken)
    {
        var results = new List<BufferedResultSet>();
        for (var u = 0; u < units.Count; u++)
        {
            var recognized = plan.Commands[u];
            var statements = recognized.Statements;
            for (var s = 0; s < statements.Count; s++)
            {
                // A single statement runs as the application wrote it; a batch runs statement by statement.
                var text = statements.Count == 1 ? units[u].CommandText : statements[s].Text;
                results.Add(await StatementExecutor.ExecuteAsync(connection, transaction, statements[s], text, units[u], branch, cancellationToken));
            }
        }
        return new ExecutionResult(results);
    }

    /// <summary>
    /// Local commit of a branch: <see cref="PrepareLocalCommitAsync"/>, then commit. Anything failing
    /// leaves the local transaction rolled back and raises the matching exception.
    /// </summary>
    public async Task CommitBranchAsync(DbConnection connection, DbTransaction transaction, LocalBranch branch, CancellationToken cancellationToken, int? lockRetries = null)
    {
        long? branchId = null;
        try
        {
            branchId = await PrepareLocalCommitAsync(connection, transaction, branch, cancellationToken, lockRetries, commitWithUndo: true);
            if (branchId is null)
            {
                // A GlobalLock scope wrote no undo row for the COMMIT to go with.
                await transaction.CommitAsync(cancellationToken);
            }
        }
        catch (Exception ex)
        {
            try
            {
                await transaction.RollbackAsync(CancellationToken.None);
            }
            catch (Exception rollbackError) when (rollbackError is DbException or InvalidOperationException)
            {
                // The connection may be broken; the server rolls back on its own.
            }
            if (branchId is { } registered && branch.Xid is not null)
            {
                await ReportPhaseOneFailedAsync(branch.Xid, registered);
            }
            throw Translate(ex, branch, branchId);
        }
    }

    /// <summary>
    /// Everything a local commit needs before the database's own COMMIT: register the branch with its
    /// lock keys (retrying with back-off while another global transaction holds one) and write its undo
    /// records in the same local transaction; in a GlobalLock scope, only check the locks. Returns the
    /// branch id (null in a GlobalLock scope). The caller commits, and on failure rolls back and calls
    /// <see cref="LocalCommitFailedAsync"/> — unless <paramref name="commitWithUndo"/> asked for the
    /// COMMIT to go in the undo insert's round trip, which then has committed the branch.
    /// </summary>
    public async Task<long?> PrepareLocalCommitAsync(DbConnection connection, DbTransaction transaction, LocalBranch branch, CancellationToken cancellationToken,
        int? lockRetries = null, bool commitWithUndo = false)
    {
        if (branch.DoomedBy is { } doomed)
        {
            throw new AtProxyException($"This local transaction cannot commit: {doomed} Roll it back (or back to a savepoint taken before that statement) and run it again.");
        }
        var keys = branch.LockKeys();
        if (branch.Xid is null)
        {
            await CheckGlobalLocksAsync(branch, keys, lockRetries ?? client.Options.LockRetryCount, cancellationToken);
            return null;
        }

        using var activity = AtProxyTelemetry.Start("atproxy.branch.phase1", branch.Xid);
        activity?.SetTag(AtProxyTelemetry.ResourceTag, branch.Resource.Id);
        activity?.SetTag("atproxy.lock_keys", keys.Count);
        long? branchId = null;
        try
        {
            await branch.Resource.EnsureUndoLogAsync(cancellationToken);
            using (var register = AtProxyTelemetry.Start("atproxy.branch.register", branch.Xid, ActivityKind.Client))
            {
                branchId = await RegisterAsync(branch, keys, lockRetries ?? client.Options.LockRetryCount, cancellationToken);
                register?.SetTag(AtProxyTelemetry.BranchIdTag, branchId);
            }
            client.ResourceManager.Outstanding.Add(branch.Resource, branch.Xid, branchId.Value);
            activity?.SetTag(AtProxyTelemetry.BranchIdTag, branchId);
            if (AfterBranchRegistered is { } hook)
            {
                await hook(branch.Xid, branchId.Value);
            }
            var log = new BranchUndoLog { Xid = branch.Xid, BranchId = branchId.Value };
            log.Records.AddRange(branch.Records);
            var (bytes, context) = UndoLogCodec.Encode(log, client.Options.UndoCompressionThreshold);
            await branch.Resource.UndoLog.InsertAsync(connection, transaction, branch.Xid, branchId.Value, bytes, context, UndoLogStatus.Normal, commitWithUndo, cancellationToken);
            return branchId;
        }
        catch (Exception ex)
        {
            AtProxyTelemetry.Fail(activity, ex);
            if (branchId is { } registered)
            {
                // The caller rolls back; the coordinator must not wait for this branch's phase 1.
                await ReportPhaseOneFailedAsync(branch.Xid, registered);
            }
            throw Translate(ex, branch, branchId);
        }
    }

    /// <summary>The database refused the COMMIT after <see cref="PrepareLocalCommitAsync"/> succeeded.</summary>
    public Task LocalCommitFailedAsync(LocalBranch branch, long? branchId) =>
        branchId is { } id && branch.Xid is not null ? ReportPhaseOneFailedAsync(branch.Xid, id) : Task.CompletedTask;

    private static Exception Translate(Exception ex, LocalBranch branch, long? branchId) =>
        ex is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: UndoLogTables.BranchKeyConstraint } && branch.Xid is not null
            // The coordinator already rolled this branch back and left its marker (a unique violation
            // of the application's own, e.g. a deferred constraint checked at COMMIT, stays as it is).
            ? new GlobalTransactionException(
                $"Global transaction {branch.Xid} was rolled back before branch {branchId} could commit locally; nothing of the branch was kept.",
                branch.Xid, GlobalTransactionStatus.Rollbacking, ex)
            : ex;

    private async Task<long> RegisterAsync(LocalBranch branch, List<LockKey> keys, int retries, CancellationToken cancellationToken)
    {
        var request = new RegisterBranchRequest
        {
            Xid = branch.Xid, ResourceId = branch.Resource.Id, ApplicationId = client.Options.ApplicationId,
            ResourceIdentity = branch.Resource.Identity?.Id ?? "",
        };
        request.LockKeys.AddRange(keys);
        var backoff = new LockBackoff(client, branch.Resource.Id, branch.Xid);
        for (var attempt = 0; ; attempt++)
        {
            var response = await client.Coordinator.RegisterBranchAsync(request, cancellationToken);
            if (response.Conflict is null)
            {
                return response.BranchId;
            }
            if (attempt >= retries)
            {
                throw Conflict(response.Conflict, branch.Xid);
            }
            await backoff.WaitAsync(response.Conflict, cancellationToken);
        }
    }

    private async Task CheckGlobalLocksAsync(LocalBranch branch, List<LockKey> keys, int retries, CancellationToken cancellationToken)
    {
        var request = new CheckLocksRequest { ResourceId = branch.Resource.Id };
        request.LockKeys.AddRange(keys);
        var backoff = new LockBackoff(client, branch.Resource.Id, xid: null);
        for (var attempt = 0; ; attempt++)
        {
            var response = await client.Coordinator.CheckLocksAsync(request, cancellationToken);
            if (response.Lockable)
            {
                return;
            }
            if (attempt >= retries)
            {
                throw Conflict(response.Conflict, null);
            }
            await backoff.WaitAsync(response.Conflict, cancellationToken);
        }
    }

    private static GlobalLockConflictException Conflict(LockConflict? conflict, string? xid) =>
        new($"Row {conflict?.Key?.Table}:{conflict?.Key?.PrimaryKey} is locked by global transaction {conflict?.HolderXid}" +
            (xid is null ? "" : $"; {xid} gave up waiting for it") + ". Nothing was committed; retry later.",
            conflict?.HolderXid ?? "", conflict?.Key?.Table, conflict?.Key?.PrimaryKey);

    private async Task ReportPhaseOneFailedAsync(string xid, long branchId)
    {
        client.ResourceManager.Outstanding.Settle(xid, branchId);
        try
        {
            await client.Coordinator.ReportBranchAsync(new ReportBranchRequest { Xid = xid, BranchId = branchId, Status = BranchStatus.PhaseOneFailed }, CancellationToken.None);
        }
        catch (AtProxyException ex)
        {
            // The coordinator will roll the branch back; the rollback finds no undo row and leaves a marker.
            _logger.LogWarning(ex, "Could not report the failed phase 1 of branch {BranchId} of {Xid}", branchId, xid);
        }
    }

    private ExecutionPlan Plan(IReadOnlyList<StatementUnit> units)
    {
        var commands = new RecognizedCommand[units.Count];
        var needsProxy = false;
        for (var i = 0; i < units.Count; i++)
        {
            var recognized = Recognizer.Recognize(units[i].CommandText);
            // Refused before anything runs, naming the construct.
            recognized.EnsureSupported();
            commands[i] = recognized;
            needsProxy |= recognized.NeedsProxy;
        }
        return new ExecutionPlan(commands, needsProxy);
    }

    private sealed record ExecutionPlan(RecognizedCommand[] Commands, bool NeedsProxy);
}
