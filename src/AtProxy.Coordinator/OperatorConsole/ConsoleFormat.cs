using System.Globalization;
using System.Reflection;
using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;
using Google.Protobuf.Reflection;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>How the console writes statuses, times and ages: the contract's names, UTC, plain words.</summary>
internal static class ConsoleFormat
{
    public static string Status(GlobalStatus status) => StatusNames.Of(status);

    /// <summary>A branch status as the contract spells it, without its prefix (PHASE_TWO_ROLLBACKED).</summary>
    public static string Status(BranchStatus status) =>
        typeof(BranchStatus).GetField(status.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name.Replace("BRANCH_STATUS_", "", StringComparison.Ordinal)
        ?? status.ToString();

    /// <summary>The CSS class of a status: stopped ones need a person, ended ones are history.</summary>
    public static string StatusClass(GlobalStatus status) =>
        GlobalStatusRules.IsStopped(status) ? "status stopped" : GlobalStatusRules.IsEnded(status) ? "status ended" : "status";

    public static string StatusClass(BranchStatus status) =>
        status is BranchStatus.PhaseTwoRollbackFailedUnretryable or BranchStatus.PhaseTwoCommitFailedUnretryable ? "status stopped"
        : BranchStatusRules.IsDone(status) ? "status ended" : "status";

    public static string Time(long unixMs) =>
        unixMs <= 0 ? "" : DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Age(long sinceUnixMs, long nowUnixMs) => sinceUnixMs <= 0 ? "" : Duration(nowUnixMs - sinceUnixMs);

    public static string Duration(long milliseconds)
    {
        var span = TimeSpan.FromMilliseconds(Math.Max(0, milliseconds));
        return span.TotalSeconds < 60 ? $"{(int)span.TotalSeconds} s"
            : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes} min {span.Seconds} s"
            : span.TotalHours < 48 ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : $"{(int)span.TotalDays} d {span.Hours} h";
    }

    /// <summary>When phase 2 is next tried: "in 12 s", "due now", or empty when nothing is scheduled.</summary>
    public static string NextAttempt(long nextAttemptUnixMs, long nowUnixMs) =>
        nextAttemptUnixMs <= 0 ? "" : nextAttemptUnixMs <= nowUnixMs ? "due now" : $"in {Duration(nextAttemptUnixMs - nowUnixMs)}";
}
