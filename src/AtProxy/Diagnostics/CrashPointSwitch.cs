using System.Diagnostics;
using System.Globalization;

namespace AtProxy.Diagnostics;

/// <summary>
/// The armed crash point of a process (see <c>CrashPoints</c>): which point, at which visit, and the
/// SIGKILL. The one implementation: this file is also compiled into the coordinator (linked from its
/// project file), which does not reference the proxy library, so the type stays internal in both.
/// </summary>
internal sealed class CrashPointSwitch
{
    /// <summary>The variable read once, when the process first reaches a point.</summary>
    public const string Variable = "ATPROXY_CRASH_AT";

    private readonly string _point;
    private readonly int _hit;
    private int _reached;

    private CrashPointSwitch(string point, int hit)
    {
        _point = point;
        _hit = hit;
    }

    /// <summary>
    /// The switch <see cref="Variable"/> asks for when it names one of <paramref name="known"/> (all
    /// starting with <paramref name="prefix"/>); null when unset or naming another process kind's point.
    /// </summary>
    /// <exception cref="InvalidOperationException">A name with the prefix that is not known, or no visit count.</exception>
    public static CrashPointSwitch? FromEnvironment(string prefix, IReadOnlyList<string> known)
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(value) || !value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var colon = value.LastIndexOf(':');
        var point = colon < 0 ? value : value[..colon];
        if (!known.Contains(point, StringComparer.Ordinal)
            || colon < 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var hit) || hit < 1)
        {
            throw new InvalidOperationException(
                $"{Variable}='{value}' is not 'point:n' with n >= 1 and point one of: {string.Join(", ", known)}.");
        }
        return new CrashPointSwitch(point, hit);
    }

    /// <summary>Kills the process with SIGKILL when <paramref name="point"/> is the armed one, reached for the n-th time.</summary>
    public void Reach(string point)
    {
        if (string.Equals(point, _point, StringComparison.Ordinal) && Interlocked.Increment(ref _reached) == _hit)
        {
            // The campaign reads this line to tell a death at the point from any other.
            Console.Error.WriteLine($"{Variable}: killing process {Environment.ProcessId} at {point} (reached {_hit} times)");
            Process.GetCurrentProcess().Kill(); // SIGKILL: no shutdown code of any kind runs
        }
    }
}
