using System.Globalization;
using System.Text;

namespace AtProxy.Cli.Rendering;

/// <summary>How times, ages and enum values are written, the same in tables and JSON.</summary>
internal static class Formats
{
    public static DateTimeOffset FromUnixMs(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    public static long AgeMs(long unixMs, DateTimeOffset now) => Math.Max(0, now.ToUnixTimeMilliseconds() - unixMs);

    public static string Timestamp(long unixMs) =>
        unixMs <= 0 ? "-" : FromUnixMs(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Timestamp(DateTimeOffset at) => Timestamp(at.ToUnixTimeMilliseconds());

    /// <summary>"850ms", "42s", "3m 05s", "2h 10m", "3d 04h": precise where it matters, short where it does not.</summary>
    public static string Duration(long ms)
    {
        var span = TimeSpan.FromMilliseconds(Math.Max(0, ms));
        return span switch
        {
            { TotalSeconds: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{span.Milliseconds}ms"),
            { TotalMinutes: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{span.Seconds}s"),
            { TotalHours: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m {span.Seconds:00}s"),
            { TotalDays: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{span.Hours}h {span.Minutes:00}m"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays}d {span.Hours:00}h"),
        };
    }

    /// <summary>A contract enum value as the contract spells it, without its prefix: RollbackFailed → ROLLBACK_FAILED.</summary>
    public static string EnumName<T>(T value) where T : struct, Enum
    {
        var name = value.ToString();
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                builder.Append('_');
            }
            builder.Append(char.ToUpperInvariant(name[i]));
        }
        return builder.ToString();
    }

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
