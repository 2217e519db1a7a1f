using System.Globalization;
using System.Text.RegularExpressions;

namespace AtProxy.Cli.Input;

/// <summary>Durations as operators type them: "90s", "15m", "2h", "1d", "1h30m", "500ms", or "00:15:00".</summary>
internal static partial class DurationParser
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        text = text.Trim();
        var match = Units().Match(text);
        if (match.Success)
        {
            foreach (Capture part in match.Groups["part"].Captures)
            {
                var unit = UnitOf().Match(part.Value);
                if (!double.TryParse(unit.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
                {
                    return false;
                }
                duration += unit.Groups[2].Value switch
                {
                    "ms" => TimeSpan.FromMilliseconds(amount),
                    "s" => TimeSpan.FromSeconds(amount),
                    "m" => TimeSpan.FromMinutes(amount),
                    "h" => TimeSpan.FromHours(amount),
                    _ => TimeSpan.FromDays(amount),
                };
            }
            return true;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
    }

    [GeneratedRegex(@"^(?<part>\d+(\.\d+)?(ms|s|m|h|d))+$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Units();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UnitOf();
}
