using System.Diagnostics;
using System.Globalization;

namespace AtProxy.Load.Measurements;

/// <summary>CPU time (user + system) of this process, the coordinator process and a PostgreSQL cluster.</summary>
internal static class ProcessCpu
{
    // USER_HZ, the unit of the times in /proc/<pid>/stat: 100 on every architecture .NET runs on under Linux.
    private const double TicksPerSecond = 100;

    public static TimeSpan OfThisProcess()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    public static TimeSpan OfProcess(int pid)
    {
        using var process = Process.GetProcessById(pid);
        return process.TotalProcessorTime;
    }

    /// <summary>
    /// The cluster's CPU time so far: the postmaster's own, its children that exited (the postmaster
    /// reaps them, so their time is in its cutime/cstime) and every live child's (backends,
    /// checkpointer, WAL writer, autovacuum...). Null when /proc does not show the postmaster
    /// (not Linux, or a server on another machine).
    /// </summary>
    public static TimeSpan? OfPostgresCluster(int postmasterPid)
    {
        if (!OperatingSystem.IsLinux() || Stat(postmasterPid) is not { } postmaster)
        {
            return null;
        }
        var ticks = postmaster.User + postmaster.System + postmaster.ChildrenUser + postmaster.ChildrenSystem;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != postmasterPid && Stat(pid) is { } child && child.ParentId == postmasterPid)
            {
                ticks += child.User + child.System;
            }
        }
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>The parent of <paramref name="pid"/> (for a backend: the postmaster), or null.</summary>
    public static int? ParentOf(int pid) => OperatingSystem.IsLinux() ? Stat(pid)?.ParentId : null;

    private static ProcStat? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // gone since the listing
        }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return new ProcStat((int)Field(4), Field(14), Field(15), Field(16), Field(17));
    }

    private sealed record ProcStat(int ParentId, long User, long System, long ChildrenUser, long ChildrenSystem);
}
