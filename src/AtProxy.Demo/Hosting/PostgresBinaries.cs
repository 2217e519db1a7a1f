using System.ComponentModel;

namespace AtProxy.Demo.Hosting;

/// <summary>Finds the machine's PostgreSQL server programs (initdb, pg_ctl).</summary>
internal static class PostgresBinaries
{
    public const string InstallHint =
        "Install the PostgreSQL server (Debian/Ubuntu: 'apt-get install postgresql') " +
        "or name the directory holding initdb and pg_ctl in ATPROXY_PG_BIN.";

    /// <summary>The directory holding initdb and pg_ctl, or null when none is installed.</summary>
    public static async Task<string?> FindAsync()
    {
        foreach (var candidate in await CandidatesAsync())
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
        if (Environment.GetEnvironmentVariable("ATPROXY_PG_BIN") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }
        try
        {
            var result = await ServerCommand.RunAsync("pg_config", ["--bindir"], asServerUser: false, TimeSpan.FromSeconds(10));
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
