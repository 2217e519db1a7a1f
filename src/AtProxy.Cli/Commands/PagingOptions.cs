using System.CommandLine;

namespace AtProxy.Cli.Commands;

/// <summary>--page-size, --page-token and --all for a list command, and fetching by them.</summary>
internal sealed class PagingOptions
{
    public const int MaxPageSize = 1000;

    public Option<int> PageSize { get; } = new("--page-size")
    {
        Description = $"Items per page, 1..{MaxPageSize}.",
        DefaultValueFactory = _ => 100,
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

    public PagingOptions()
    {
        PageSize.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value is < 1 or > MaxPageSize)
            {
                result.AddError($"--page-size must be 1..{MaxPageSize} (got {value}).");
            }
        });
    }

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
