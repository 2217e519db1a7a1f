using AtProxy.Hosting;

namespace AtProxy.Cli.Tests.Support;

/// <summary>
/// Finds the built CLI (<c>AtProxy.Cli.dll</c>, the <c>atproxy</c> command) in <c>src/AtProxy.Cli/bin</c>.
/// </summary>
public static class CliBinary
{
    /// <summary>The environment variable that names the DLL to use instead.</summary>
    public const string OverrideVariable = "ATPROXY_CLI_DLL";

    public static string Find() => BuiltProgram.Find("AtProxy.Cli", OverrideVariable);
}
