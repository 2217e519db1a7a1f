using System.ComponentModel;

namespace AtProxy.Hosting;

/// <summary>Finds the machine's PostgreSQL server programs (initdb, pg_ctl).</summary>
public static class PostgresBinaries
{
    /// <summary>The environment variable naming the directory of initdb and pg_ctl when they are not found otherwise.</summary>
    public const string DirectoryVariable = "ATPROXY_PG_BIN";

    /// <summary>What to do when no server programs are found.</summary>
    public const string InstallHint =
        "Install the PostgreSQL server (Debian/Ubuntu: 'apt-get install postgresql') " +
        "or name the directory holding initdb and pg_ctl in " + DirectoryVariable + ".";

    /// <summary>
    /// The directory holding initdb and pg_ctl, or null when none is installed. Looked for in
    /// <see cref="DirectoryVariable"/>, pg_config's bindir, <c>/usr/lib/postgresql/*/bin</c>
    /// (newest version first) and the PATH, in that order.
    /// </summary>
    public static async Task<string?> FindAsync()
    {
        foreach (var candidate in await CandidatesAsync().ConfigureAwait(false))
        {
            if (File.Exists(Path.Combine(candidate, "initdb")) && File.Exists(Path.Combine(candidate, "pg_ctl")))
            {
                return candidate;
            }
        }
        return null;
    }

    private static async Task<List<string>> CandidatesAsync()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }
        try
        {
            var result = await ProcessRunner.RunAsync("pg_config", ["--bindir"], asServerUser: false, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                candidates.Add(result.Output.Trim());
            }
        }
        catch (Win32Exception)
        {
            // No pg_config; the well-known locations below may still hold a server.
        }
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            candidates.AddRange(Directory.GetDirectories(debianRoot)
                .OrderByDescending(dir => int.TryParse(Path.GetFileName(dir), out var version) ? version : 0)
                .Select(dir => Path.Combine(dir, "bin")));
        }
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        return candidates;
    }
}
