namespace AtProxy.Hosting;

/// <summary>
/// Finds a program of this repository as it was built (<c>src/&lt;project&gt;/bin/**/&lt;project&gt;.dll</c>
/// with its runtimeconfig), for starting it as a process: the DLL an environment variable names,
/// else one next to the calling program, else the newest build under the repository's
/// <c>src/&lt;project&gt;/bin</c>, the caller's configuration (Release or Debug) first.
/// </summary>
public static class BuiltProgram
{
    /// <summary>The path of <paramref name="project"/>'s DLL; throws with what to build when there is none.</summary>
    /// <param name="project">The project and assembly name, e.g. <c>AtProxy.Coordinator</c>.</param>
    /// <param name="overrideVariable">The environment variable that names the DLL to use instead.</param>
    public static string Find(string project, string overrideVariable)
    {
        var fileName = project + ".dll";
        if (Environment.GetEnvironmentVariable(overrideVariable) is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new FileNotFoundException($"{overrideVariable} names {configured}, which does not exist.", configured);
        }
        // A project that references the program gets it copied next to its own assembly.
        var beside = Path.Combine(AppContext.BaseDirectory, fileName);
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
        {
            return beside;
        }

        var separator = Path.DirectorySeparatorChar;
        var configuration = AppContext.BaseDirectory.Contains($"{separator}Release{separator}", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var bin = Path.Combine(dir.FullName, "src", project, "bin");
            if (!Directory.Exists(bin))
            {
                continue;
            }
            var found = Directory.GetFiles(bin, fileName, SearchOption.AllDirectories)
                .Where(path => File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
                .OrderByDescending(path => path.Contains($"{separator}{configuration}{separator}", StringComparison.Ordinal))
                .ThenByDescending(File.GetLastWriteTimeUtc)
                .FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }
        throw new FileNotFoundException(
            $"{fileName} was not found next to this program ({AppContext.BaseDirectory}) nor under src/{project}/bin. " +
            $"Build src/{project} (or reference it from this project), or set {overrideVariable}.");
    }
}
