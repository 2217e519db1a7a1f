using Microsoft.AspNetCore.Http.Extensions;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>Links to a list page with its filters kept: the parameters that have a value, escaped.</summary>
internal static class PageLink
{
    public static string To(string path, params (string Name, string? Value)[] parameters)
    {
        var query = new QueryBuilder();
        foreach (var (name, value) in parameters)
        {
            if (!string.IsNullOrEmpty(value))
            {
                query.Add(name, value);
            }
        }
        return path + query.ToQueryString();
    }
}
