namespace AtProxy.Hosting;

/// <summary>
/// Finds the built coordinator (<c>AtProxy.Coordinator.dll</c>). A project that references
/// <c>src/AtProxy.Coordinator</c> (the demo, the tests, the benchmarks) gets it copied next to its
/// own assembly, so that is where it is looked for first; then in the repository's
/// <c>src/AtProxy.Coordinator/bin</c>.
/// </summary>
public static class CoordinatorBinary
{
    /// <summary>The environment variable that names the DLL to use instead.</summary>
    public const string OverrideVariable = "ATPROXY_COORDINATOR_DLL";

    /// <summary>The coordinator's file name.</summary>
    public const string FileName = "AtProxy.Coordinator.dll";

    /// <summary>The path of the coordinator's DLL; throws with what to build when there is none.</summary>
    public static string Find()
    {
        if (Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new FileNotFoundException($"{OverrideVariable} names {configured}, which does not exist.", configured);
        }
        var beside = Path.Combine(AppContext.BaseDirectory, FileName);
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
        {
            return beside;
        }

        // The calling program's configuration (bin/Release/... or bin/Debug/...) is preferred.
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var bin = Path.Combine(dir.FullName, "src", "AtProxy.Coordinator", "bin");
            if (!Directory.Exists(bin))
            {
                continue;
            }
            var found = Directory.GetFiles(bin, FileName, SearchOption.AllDirectories)
                .Where(path => File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
                .OrderByDescending(path => path.Contains($"{Path.DirectorySeparatorChar}{configuration}{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .ThenByDescending(File.GetLastWriteTimeUtc)
                .FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }
        throw new FileNotFoundException(
            $"The coordinator ({FileName}) was not found next to this program ({AppContext.BaseDirectory}) nor under src/AtProxy.Coordinator/bin. " +
            $"Reference src/AtProxy.Coordinator from the project, build it, or set {OverrideVariable}.");
    }
}
