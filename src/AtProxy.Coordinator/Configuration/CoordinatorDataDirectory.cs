namespace AtProxy.Coordinator.Configuration;

/// <summary>
/// Where the embedded store lives: <see cref="CoordinatorOptions.DataDir"/> when set, otherwise a
/// folder of the coordinator's node id under the user's local application data
/// (<c>~/.local/share/atproxy/coordinator/tc</c> on Linux, <c>%LOCALAPPDATA%\atproxy\coordinator\tc</c>
/// on Windows). Never the working directory: a coordinator started from a source tree or a tool
/// folder must not leave its transactions there.
/// </summary>
internal static class CoordinatorDataDirectory
{
    public static string Resolve(CoordinatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(options.DataDir))
        {
            return Path.GetFullPath(options.DataDir);
        }
        var localData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(localData))
        {
            throw new InvalidOperationException("Coordinator:DataDir (--data-dir) is not set and this user has no local application data folder (is HOME set?); name a directory with --data-dir.");
        }
        return Path.Combine(localData, "atproxy", "coordinator", options.NodeId);
    }
}
