namespace AtProxy.Packaging.Tests;

/// <summary>
/// The files <c>build.ps1 pack</c> needs, copied out of the repository without build output:
/// the packages are built from the copy, so the pack never writes into the <c>bin/</c> and
/// <c>obj/</c> of a test run going on in the repository at the same time.
/// </summary>
internal static class RepositoryCopy
{
    private static readonly string[] Entries =
        ["src", "proto", "eng", ".config", "AtProxy.sln", "Directory.Build.props", "Directory.Packages.props", "global.json", "build.ps1", "README.md"];

    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.ps1")) && File.Exists(Path.Combine(dir.FullName, "AtProxy.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"The repository (build.ps1, AtProxy.sln) was not found above {AppContext.BaseDirectory}.");
    }

    public static void CopyTo(string destination)
    {
        var root = Root();
        foreach (var entry in Entries)
        {
            var source = Path.Combine(root, entry);
            if (Directory.Exists(source))
            {
                CopyDirectory(source, Path.Combine(destination, entry));
            }
            else
            {
                File.Copy(source, Path.Combine(destination, entry));
            }
        }
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            var name = Path.GetFileName(directory);
            if (name is not ("bin" or "obj"))
            {
                CopyDirectory(directory, Path.Combine(destination, name));
            }
        }
    }
}
