using System.Net;

namespace AtProxy.Coordinator.Configuration;

/// <summary>
/// <see cref="CoordinatorOptions.AdminUrls"/> read and checked: absolute http or https URLs with an
/// explicit port, separated by ';'. The port tells the admin endpoint's requests from gRPC's, so it
/// cannot be 0 (chosen by the system) or left to the scheme's default.
/// </summary>
internal sealed class AdminUrlList
{
    private AdminUrlList(IReadOnlyList<Uri> urls, IReadOnlyList<string> problems)
    {
        Urls = urls;
        Problems = problems;
    }

    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>One line per malformed URL, naming the setting.</summary>
    public IReadOnlyList<string> Problems { get; }

    public IReadOnlySet<int> Ports => Urls.Select(u => u.Port).ToHashSet();

    /// <summary>Whether every URL names a loopback host (localhost, 127.x.x.x, ::1).</summary>
    public bool LoopbackOnly => Urls.All(IsLoopback);

    public static AdminUrlList Parse(string? setting)
    {
        var urls = new List<Uri>();
        var problems = new List<string>();
        foreach (var text in (setting ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                problems.Add($"Coordinator:AdminUrls (--admin-urls): '{text}' is not an absolute http or https URL (e.g. http://127.0.0.1:8092).");
            }
            else if (url.IsDefaultPort && !HasExplicitPort(text) || url.Port == 0)
            {
                problems.Add($"Coordinator:AdminUrls (--admin-urls): '{text}' must name its port (1-65535), e.g. http://127.0.0.1:8092.");
            }
            else if (url.AbsolutePath != "/" || url.Query.Length > 0)
            {
                problems.Add($"Coordinator:AdminUrls (--admin-urls): '{text}' must have no path; the console is served at the root.");
            }
            else
            {
                urls.Add(url);
            }
        }
        return new AdminUrlList(urls, problems);
    }

    public static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    // Uri reports 80 for both "http://h" and "http://h:80"; only the second names its port.
    private static bool HasExplicitPort(string text)
    {
        var authority = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0];
        return authority.LastIndexOf(':') > authority.LastIndexOf(']');
    }
}
