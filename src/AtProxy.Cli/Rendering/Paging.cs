using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>Tells the operator how to get the next page.</summary>
internal static class Paging
{
    public static void RenderHint(CliOutput output, string? nextPageToken)
    {
        if (!string.IsNullOrEmpty(nextPageToken))
        {
            output.Console.WriteLine($"More results: repeat with --page-token {nextPageToken} (or --all).");
        }
    }
}
