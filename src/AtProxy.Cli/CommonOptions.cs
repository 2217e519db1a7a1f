using System.CommandLine;

namespace AtProxy.Cli;

/// <summary>The options every command shares, defined once and added to the root as recursive options.</summary>
internal static class CommonOptions
{
    public const string CoordinatorVariable = "ATPROXY_COORDINATOR";
    public const string AdminTokenVariable = "ATPROXY_ADMIN_TOKEN";
    public const string OperatorVariable = "ATPROXY_OPERATOR";
    public const string DefaultCoordinator = "http://127.0.0.1:8091";

    public static readonly Option<string?> Coordinator = new("--coordinator")
    {
        Description = $"The coordinator's address (default: ${CoordinatorVariable}, else {DefaultCoordinator}).",
        HelpName = "URL",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write JSON to standard output instead of tables, for scripts.",
        Recursive = true,
    };

    /// <summary>Adds the shared options to the root command.</summary>
    public static void AddTo(Command root)
    {
        root.Add(Coordinator);
        root.Add(Json);
    }
}
