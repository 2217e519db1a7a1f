using System.Globalization;
using System.Text.RegularExpressions;
using AtProxy.Hosting;

namespace AtProxy.Load.Measurements;

/// <summary>
/// How many requests a PostgreSQL server received so far, counted outside every client: the
/// data-carrying TCP segments into the server's port on its open connections, as the kernel
/// counts them (<c>ss -ti</c>, <c>data_segs_in</c>). A client sends a round trip's messages with
/// one write, so on loopback one segment is one round trip; the same count on the same run shape
/// compares two coordinator builds without trusting either's own counting. Connections closed
/// meanwhile take their counts with them, so a run measures with warm connection pools.
/// </summary>
internal static partial class PostgresRequests
{
    /// <summary>The requests received on <paramref name="port"/>'s open connections, or null without <c>ss</c> (not Linux).</summary>
    public static async Task<long?> ReceivedAsync(int port)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            var result = await ProcessRunner.RunAsync("ss", ["-tin", "state", "established", $"( sport = :{port.ToString(CultureInfo.InvariantCulture)} )"],
                asServerUser: false, TimeSpan.FromSeconds(10));
            if (result.ExitCode != 0)
            {
                return null;
            }
            var total = 0L;
            foreach (Match match in DataSegmentsIn().Matches(result.Output))
            {
                total += long.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
            }
            return total;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no ss on this machine
        }
    }

    [GeneratedRegex(@"\bdata_segs_in:(\d+)")]
    private static partial Regex DataSegmentsIn();
}
