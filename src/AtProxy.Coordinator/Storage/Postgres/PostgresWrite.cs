using AtProxy.Coordinator.Locking;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// One change waiting for <see cref="PostgresWriter"/>: a transaction begun, or the statements of
/// one scope, with the condition they are written under. The writer completes <see cref="Done"/>
/// once the database transaction that holds the change committed, or refused it.
/// </summary>
internal sealed class PostgresWrite
{
    /// <summary>The transaction changed (or begun).</summary>
    public required string Xid { get; init; }

    /// <summary>A new session row: written without a condition.</summary>
    public bool IsBegin { get; init; }

    /// <summary>
    /// The session's version the scope read: the change is written only if nobody changed the
    /// transaction since. Null for a registration alone, which only needs the transaction still BEGIN.
    /// </summary>
    public long? ExpectedVersion { get; init; }

    /// <summary>A branch whose keys are acquired in the batch's one lock insert, all or none.</summary>
    public BranchRegistration? Registration { get; init; }

    /// <summary>The statements of the change, run in the batch's transaction when its condition holds.</summary>
    public required IReadOnlyList<NpgsqlBatchCommand> Commands { get; init; }

    /// <summary>The change lets go of global locks: waiters on every coordinator are woken at commit.</summary>
    public bool ReleasesLocks { get; init; }

    /// <summary>The change makes a phase-2 attempt due now: every coordinator's sweep looks at once.</summary>
    public bool MakesPhaseTwoDue { get; init; }

    /// <summary>Lock-insert tries that found a key between owners; bounded.</summary>
    public int Tries { get; set; }

    public TaskCompletionSource<PostgresWriteOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What became of a <see cref="PostgresWrite"/>.</summary>
/// <param name="Written">Committed.</param>
/// <param name="Conflict">A registration refused because another transaction holds one of its keys.</param>
/// <param name="Refusal">Why the condition did not hold (the transaction changed, ended or is gone); nothing was written.</param>
internal sealed record PostgresWriteOutcome(bool Written, LockConflictInfo? Conflict = null, string? Refusal = null)
{
    public static readonly PostgresWriteOutcome Committed = new(true);
}
