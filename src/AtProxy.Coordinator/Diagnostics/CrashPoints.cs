using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace AtProxy.Coordinator.Diagnostics;

/// <summary>
/// A testing facility, off unless asked for: with <c>ATPROXY_CRASH_AT=point:n</c> in the environment
/// at start, the process kills itself with SIGKILL the n-th time it reaches the named point of the
/// protocol, so a fault campaign can stop it exactly there. Off, a point costs one check of a static
/// readonly field, which the JIT turns into a constant. Names for the proxy's points
/// (<c>proxy.*</c>) are left to the services.
/// </summary>
internal static class CrashPoints
{
    /// <summary>The variable read once at start.</summary>
    public const string Variable = "ATPROXY_CRASH_AT";

    /// <summary>A commit decision is durable; the caller has not been answered.</summary>
    public const string CommitDecided = "coordinator.commit-decided";

    /// <summary>Phase-2 commit commands were answered by the branches; nothing of it is recorded yet.</summary>
    public const string CommitCommandsSent = "coordinator.commit-commands-sent";

    /// <summary>A phase-2 rollback command was answered by its branch; the outcome is not recorded yet.</summary>
    public const string RollbackCommandSent = "coordinator.rollback-command-sent";

    /// <summary>A compaction of the embedded store wrote its new generation; the old one is not deleted yet.</summary>
    public const string CompactionSwitched = "coordinator.compaction-switched";

    private const string Prefix = "coordinator.";
    private static readonly string[] Known = [CommitDecided, CommitCommandsSent, RollbackCommandSent, CompactionSwitched];
    private static readonly (string Point, int Hit)? Armed = Parse(Environment.GetEnvironmentVariable(Variable));
    private static readonly bool Enabled = Armed is not null;
    private static int _reached;

    /// <summary>Kills the process here when this is the armed point, reached for the n-th time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reach(string point)
    {
        if (Enabled)
        {
            ReachArmed(point);
        }
    }

    private static void ReachArmed(string point)
    {
        var (armed, hit) = Armed!.Value;
        if (string.Equals(point, armed, StringComparison.Ordinal) && Interlocked.Increment(ref _reached) == hit)
        {
            // The campaign reads this line to tell a crash at the point from any other death.
            Console.Error.WriteLine($"{Variable}: killing process {Environment.ProcessId} at {point} (reached {hit} times)");
            Process.GetCurrentProcess().Kill();
        }
    }

    private static (string, int)? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value) || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var colon = value.LastIndexOf(':');
        var point = colon < 0 ? value : value[..colon];
        if (Array.IndexOf(Known, point) < 0
            || colon < 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var hit) || hit < 1)
        {
            throw new InvalidOperationException(
                $"{Variable}='{value}' is not 'point:n' with n >= 1 and point one of: {string.Join(", ", Known)}.");
        }
        return (point, hit);
    }
}
