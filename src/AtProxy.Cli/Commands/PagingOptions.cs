using System.CommandLine;
using AtProxy.Cli.Input;

namespace AtProxy.Cli.Commands;

/// <summary>--page-size, --page-token and --all for a list command, and fetching by them.</summary>
internal sealed class PagingOptions
{
    public const int MaxPageSize = 1000;

    public Option<int> PageSize { get; } = new("--page-size")
    {
        Description = $"Items per page, 1..{MaxPageSize}.",
        DefaultValueFactory = _ => 100,
        CustomParser = result => Numbers.Parse(result, "--page-size", 1, MaxPageSize),
        HelpName = "N",
    };

    public Option<string?> PageToken { get; } = new("--page-token")
    {
        Description = "Continue from the page a previous run stopped at.",
        HelpName = "TOKEN",
    };

    public Option<bool> All { get; } = new("--all")
    {
        Description = "Fetch every page, not only the first.",
    };

    public void AddTo(Command command)
    {
        command.Add(PageSize);
        command.Add(PageToken);
        command.Add(All);
    }

    /// <summary>One page, or every page from the given token on with --all.</summary>
    public async Task<(List<T> Items, string? NextPageToken)> FetchAsync<T>(
        ParseResult parseResult, Func<int, string, Task<(IEnumerable<T> Items, string NextPageToken)>> fetchPage)
    {
        var size = parseResult.GetValue(PageSize);
        var token = parseResult.GetValue(PageToken) ?? "";
        var all = parseResult.GetValue(All);
        var items = new List<T>();
        while (true)
        {
            var (page, next) = await fetchPage(size, token);
            items.AddRange(page);
            if (!all || next.Length == 0)
            {
                return (items, next.Length == 0 ? null : next);
            }
            token = next;
        }
    }
}
