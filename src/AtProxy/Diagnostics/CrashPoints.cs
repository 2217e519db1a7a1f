using System.Runtime.CompilerServices;

namespace AtProxy.Diagnostics;

/// <summary>
/// A testing facility, off unless asked for: with <c>ATPROXY_CRASH_AT=point:n</c> in the environment
/// at start, the process kills itself with SIGKILL the n-th time it reaches the named point of the
/// protocol, so a fault campaign can stop it exactly there. Off, a point costs one check of a static
/// readonly field, which the JIT turns into a constant. The coordinator names its own
/// points (<c>coordinator.*</c>); the mechanism is shared (<see cref="CrashPointSwitch"/>).
/// </summary>
internal static class CrashPoints
{
    /// <summary>The branch is registered (it holds its global locks); its undo row and local COMMIT are still to come.</summary>
    public const string AfterBranchRegistered = "proxy.after-branch-registered";

    /// <summary>The local COMMIT is done; the caller has not been answered.</summary>
    public const string AfterLocalCommit = "proxy.after-local-commit";

    /// <summary>A phase-2 rollback restored the rows in its local transaction; the undo row's delete and the COMMIT (one round trip) are still to come.</summary>
    public const string RollbackBeforeCommit = "proxy.rollback-before-commit";

    /// <summary>A phase-2 commit was acknowledged; the background delete of its undo rows is about to run.</summary>
    public const string BeforeUndoDelete = "proxy.before-undo-delete";

    private static readonly CrashPointSwitch? Armed = CrashPointSwitch.FromEnvironment("proxy.", [AfterBranchRegistered, AfterLocalCommit, RollbackBeforeCommit, BeforeUndoDelete]);
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
