using System.Globalization;

namespace AtProxy.Hosting;

/// <summary>
/// Temporary directories named after the process that made them
/// (<c>{prefix}{pid}-{random}</c>), so a later run can tell which ones a killed process left
/// behind and clear them.
/// </summary>
public static class RunDirectory
{
    /// <summary>Creates a new, empty directory under the system's temp directory and returns its path.</summary>
    /// <param name="prefix">What the directory's name starts with, e.g. <c>atproxy-pg-</c>.</param>
    /// <param name="randomLength">How many random hex digits follow the process id (1 to 32).</param>
    public static string Create(string prefix, int randomLength)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..randomLength]}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>The directories with <paramref name="prefix"/> whose process no longer runs.</summary>
    public static IEnumerable<string> Abandoned(string prefix)
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), prefix + "*"))
        {
            var name = Path.GetFileName(dir)[prefix.Length..];
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && !ProcessLiveness.IsAlive(pid))
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
}
