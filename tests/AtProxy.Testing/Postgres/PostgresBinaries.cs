namespace AtProxy.Testing.Postgres;

/// <summary>Finds the machine's PostgreSQL server programs (initdb, pg_ctl).</summary>
internal static class PostgresBinaries
{
    public const string InstallHint =
        "Install the PostgreSQL server (Debian/Ubuntu: 'apt-get install postgresql'), " +
        "or point ATPROXY_TEST_PG at a server you run, e.g. " +
        "ATPROXY_TEST_PG='Host=127.0.0.1;Port=5432;Username=postgres;Password=...'.";

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
            var result = await ProcessRunner.RunAsync("pg_config", ["--bindir"], asServerUser: false, TimeSpan.FromSeconds(10));
            if (result.ExitCode == 0)
            {
                candidates.Add(result.Output.Trim());
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // pg_config is not installed; the well-known locations below may still have a server.
        }
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            candidates.AddRange(Directory.GetDirectories(debianRoot)
                .Select(dir => (dir, version: int.TryParse(Path.GetFileName(dir), out var v) ? v : 0))
                .OrderByDescending(x => x.version)
                .Select(x => Path.Combine(x.dir, "bin")));
        }
        foreach (var pathDir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            candidates.Add(pathDir);
        }
        return candidates;
    }
}
