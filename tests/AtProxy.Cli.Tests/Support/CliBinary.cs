namespace AtProxy.Cli.Tests.Support;

/// <summary>
/// Finds the built CLI (<c>AtProxy.Cli.dll</c>, the <c>atproxy</c> command) in <c>src/AtProxy.Cli/bin</c>.
/// </summary>
public static class CliBinary
{
    /// <summary>The environment variable that names the DLL to use instead.</summary>
    public const string OverrideVariable = "ATPROXY_CLI_DLL";

    private const string FileName = "AtProxy.Cli.dll";

    public static string Find()
    {
        if (Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"{OverrideVariable} names {configured}, which does not exist.", configured);
        }
        var separator = Path.DirectorySeparatorChar;
        var configuration = AppContext.BaseDirectory.Contains($"{separator}Release{separator}", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var bin = Path.Combine(dir.FullName, "src", "AtProxy.Cli", "bin");
            if (!Directory.Exists(bin))
            {
                continue;
            }
            var found = Directory.GetFiles(bin, FileName, SearchOption.AllDirectories)
                .Where(path => File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
                .OrderByDescending(path => path.Contains($"{separator}{configuration}{separator}", StringComparison.Ordinal))
                .ThenByDescending(File.GetLastWriteTimeUtc)
                .FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }
        throw new FileNotFoundException($"The CLI ({FileName}) was not found under src/AtProxy.Cli/bin; build src/AtProxy.Cli or set {OverrideVariable}.");
    }
}
