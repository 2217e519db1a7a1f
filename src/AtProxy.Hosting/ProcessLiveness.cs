using System.Diagnostics;

namespace AtProxy.Hosting;

/// <summary>
/// Whether a process still runs. The one implementation: this file is also compiled into the
/// coordinator (linked from its project file), which must not reference this development-only
/// library, so the type stays internal in both assemblies.
/// </summary>
internal static class ProcessLiveness
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>True while the process <paramref name="pid"/> exists and has not exited.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Completes once the process <paramref name="pid"/> is gone, checking every second; a process
    /// that is not our child cannot be awaited, only polled.
    /// </summary>
    public static async Task WaitUntilGoneAsync(int pid, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(PollInterval);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!IsAlive(pid))
            {
                return;
            }
        }
    }
}
