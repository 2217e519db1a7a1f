using System.Runtime.CompilerServices;
using AtProxy.Diagnostics;

namespace AtProxy.Coordinator.Diagnostics;

/// <summary>
/// A testing facility, off unless asked for: with <c>ATPROXY_CRASH_AT=point:n</c> in the environment
/// at start, the process kills itself with SIGKILL the n-th time it reaches the named point of the
/// protocol, so a fault campaign can stop it exactly there. Off, a point costs one check of a static
/// readonly field, which the JIT turns into a constant. The proxy library names its own
/// points (<c>proxy.*</c>); the mechanism is shared (<see cref="CrashPointSwitch"/>).
/// </summary>
internal static class CrashPoints
{
    /// <summary>A commit decision is durable; the caller has not been answered.</summary>
    public const string CommitDecided = "coordinator.commit-decided";

    /// <summary>Phase-2 commit commands were answered by the branches; nothing of it is recorded yet.</summary>
    public const string CommitCommandsSent = "coordinator.commit-commands-sent";

    /// <summary>A phase-2 rollback command was answered by its branch; the outcome is not recorded yet.</summary>
    public const string RollbackCommandSent = "coordinator.rollback-command-sent";

    /// <summary>A compaction of the embedded store wrote its new generation; the old one is not deleted yet.</summary>
    public const string CompactionSwitched = "coordinator.compaction-switched";

    /// <summary>
    /// A batch of the shared PostgreSQL store committed; none of the calls whose changes it holds
    /// has been answered (their callers retry elsewhere, and must find them done exactly once).
    /// </summary>
    public const string StoreBatchCommitted = "coordinator.store-batch-committed";

    private static readonly CrashPointSwitch? Armed = CrashPointSwitch.FromEnvironment(
        "coordinator.", [CommitDecided, CommitCommandsSent, RollbackCommandSent, CompactionSwitched, StoreBatchCommitted]);
    private static readonly bool Enabled = Armed is not null;

    /// <summary>Kills the process here when this is the armed point, reached for the n-th time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reach(string point)
    {
        if (Enabled)
        {
            Armed!.Reach(point);
        }
    }
}
