using System.Diagnostics;

namespace AtProxy.Demo.Hosting;

/// <summary>
/// The demo run's temporary directory (the PostgreSQL cluster, the coordinator's store), named
/// after the demo's process id so a later run can clear what a killed run left behind.
/// </summary>
internal sealed class DemoDirectory
{
    public const string Prefix = "atproxy-demo-";

    private DemoDirectory(string path) => Path = path;

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <summary>Creates a new, empty run directory under the system's temp directory.</summary>
    public static DemoDirectory Create()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(path);
        return new DemoDirectory(path);
    }

    /// <summary>The run directories of demo processes that no longer run.</summary>
    public static IEnumerable<string> Abandoned()
    {
        foreach (var dir in Directory.GetDirectories(System.IO.Path.GetTempPath(), Prefix + "*"))
        {
            var name = System.IO.Path.GetFileName(dir)[Prefix.Length..];
            var dash = name.IndexOf('-');
            if (dash > 0 && int.TryParse(name[..dash], out var pid) && !IsAlive(pid))
            {
                yield return dir;
            }
        }
    }

    /// <summary>Deletes the directory and everything in it, if it is still there.</summary>
    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static bool IsAlive(int pid)
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
}
