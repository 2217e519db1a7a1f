using AtProxy.Cli.Rendering;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Input;

/// <summary>Global statuses as operators type them: "rollback-failed", "ROLLBACK_FAILED", "RollbackFailed", "begin".</summary>
internal static class StatusParser
{
    private static readonly Dictionary<string, GlobalStatus> ByName = Enum.GetValues<GlobalStatus>()
        .Where(s => s != GlobalStatus.Unspecified)
        .ToDictionary(s => Normalize(Formats.EnumName(s)), s => s, StringComparer.Ordinal);

    /// <summary>Every accepted name, for the help text and error messages.</summary>
    public static string Names { get; } = string.Join(", ", Enum.GetValues<GlobalStatus>()
        .Where(s => s != GlobalStatus.Unspecified)
        .Select(s => Formats.EnumName(s).Replace('_', '-').ToLowerInvariant()));

    public static bool TryParse(string text, out GlobalStatus status) => ByName.TryGetValue(Normalize(text), out status);

    private static string Normalize(string text)
    {
        var upper = text.Trim().Replace('-', '_').ToUpperInvariant();
        if (upper.StartsWith("GLOBAL_STATUS_", StringComparison.Ordinal))
        {
            upper = upper["GLOBAL_STATUS_".Length..];
        }
        // "RollbackFailed" has no separators; compare without them.
        return upper.Replace("_", "", StringComparison.Ordinal);
    }
}
