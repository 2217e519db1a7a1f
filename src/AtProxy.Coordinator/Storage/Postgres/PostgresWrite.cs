using AtProxy.Coordinator.Locking;
using AtProxy.Coordinator.Sessions;
using AtProxy.Coordinator.Storage.Records;
using AtProxy.Protocol.V1;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// One change waiting for <see cref="PostgresWriter"/>: a transaction begun, a branch registered,
/// or what one scope changed, with the condition it is written under. It carries rows, not SQL:
/// the writer writes the rows of every change of a batch with one statement per table. The writer
/// completes <see cref="Done"/> once the database transaction that holds the change committed, or
/// refused it.
/// </summary>
internal sealed class PostgresWrite
{
    /// <summary>The transaction changed (or begun).</summary>
    public required string Xid { get; init; }

    /// <summary>A new session row: written without a condition.</summary>
    public GlobalBegun? Begun { get; init; }

    public bool IsBegin => Begun is not null;

    /// <summary>
    /// The session's version the scope read: the change is written only if nobody changed the
    /// transaction since. Null for a registration, which only needs the transaction still BEGIN.
    /// </summary>
    public long? ExpectedVersion { get; init; }

    /// <summary>A branch whose keys are acquired in the batch's one lock insert, all or none, and whose row is added.</summary>
    public BranchRegistration? Registration { get; init; }

    /// <summary>The session row's new values (status, schedule), or null when only branches or history changed.</summary>
    public SessionValues? Session { get; init; }

    /// <summary>Branch rows whose status, error, lock flag or forgotten flag changed.</summary>
    public IReadOnlyList<BranchValues> Branches { get; init; } = [];

    /// <summary>History entries to add, in order.</summary>
    public IReadOnlyList<TransitionEntry> Transitions { get; init; } = [];

    /// <summary>
    /// The change moves the transaction into phase 2 (a decision, a resumption): this coordinator's
    /// claim on its phase 2 is written with it, so the attempt that follows here starts without a claim of its own.
    /// </summary>
    public bool ClaimsPhaseTwo { get; init; }

    /// <summary>Every lock of the transaction is let go of (a decision, or its end).</summary>
    public bool ReleasesAllLocks { get; init; }

    /// <summary>Statements of rare changes (one branch letting go of its keys), run as they are.</summary>
    public IReadOnlyList<NpgsqlBatchCommand> Commands { get; init; } = [];

    /// <summary>The change lets go of global locks: waiters on every coordinator are woken at commit.</summary>
    public bool ReleasesLocks { get; init; }

    /// <summary>The change makes a phase-2 attempt due now: every coordinator's sweep looks at once.</summary>
    public bool MakesPhaseTwoDue { get; init; }

    /// <summary>
    /// Recovery can do without the change until a later commit flushes it (a begin, a branch's
    /// rollback recorded): it is written by the group commit's with-next lane, whose commits do not
    /// wait for the WAL flush. The database writes its WAL in order, so the transaction's next
    /// change, whose commit does wait, makes this one durable too.
    /// </summary>
    public bool DurableWithNext { get; init; }

    /// <summary>Lock-insert tries that found a key between owners; bounded.</summary>
    public int Tries { get; set; }

    public TaskCompletionSource<PostgresWriteOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// A session row's values a scope writes. The phase-2 schedule only when the scope set it: a
/// wake-up written meanwhile (<c>WakeWaitingForAsync</c>) is not overwritten by a status change.
/// </summary>
internal readonly record struct SessionValues(
    GlobalStatus Status, long LastUpdateUnixMs, bool TimedOut, bool Scheduled, int FailuresInARow, long NextAttemptUnixMs, long PhaseTwoSinceUnixMs)
{
    public static SessionValues Of(GlobalSession session, bool scheduled) =>
        new(session.Status, session.LastUpdateUnixMs, session.TimedOut, scheduled, session.FailuresInARow, session.NextAttemptUnixMs, session.PhaseTwoSinceUnixMs);
}

/// <summary>A branch row's values a scope writes.</summary>
internal readonly record struct BranchValues(long BranchId, BranchStatus Status, string LastError, bool LocksHeld, bool Forgotten)
{
    public static BranchValues Of(BranchSession branch) => new(branch.BranchId, branch.Status, branch.LastError, branch.LocksHeld, branch.Forgotten);
}

/// <summary>What became of a <see cref="PostgresWrite"/>.</summary>
/// <param name="Written">Committed.</param>
/// <param name="Conflict">A registration refused because another transaction holds one of its keys.</param>
/// <param name="Refusal">Why the condition did not hold (the transaction changed, ended or is gone); nothing was written.</param>
/// <param name="Version">The session's version after a committed change.</param>
internal sealed record PostgresWriteOutcome(bool Written, LockConflictInfo? Conflict = null, string? Refusal = null, long Version = 0);
