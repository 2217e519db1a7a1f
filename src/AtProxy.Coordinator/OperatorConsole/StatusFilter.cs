using AtProxy.Coordinator.Sessions;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>The status choices of the transaction list: one status, or a group a person thinks in.</summary>
internal static class StatusFilter
{
    public const string UnfinishedName = "unfinished";
    public const string StoppedName = "stopped";

    /// <summary>Every status but the ended ones: what is still open, deciding or in phase 2.</summary>
    public static IEnumerable<GlobalStatus> Unfinished =>
        Enum.GetValues<GlobalStatus>().Where(s => s != GlobalStatus.Unspecified && !GlobalStatusRules.IsEnded(s));

    /// <summary>The statuses phase 2 stopped in: a person must decide.</summary>
    public static IEnumerable<GlobalStatus> Stopped => Enum.GetValues<GlobalStatus>().Where(GlobalStatusRules.IsStopped);

    /// <summary>The statuses a choice stands for; empty for any status or an unknown choice.</summary>
    public static IReadOnlyList<GlobalStatus> Of(string? choice) => choice switch
    {
        null or "" => [],
        UnfinishedName => [.. Unfinished],
        StoppedName => [.. Stopped],
        _ when Enum.TryParse<GlobalStatus>(choice, ignoreCase: true, out var status) && Enum.IsDefined(status) && status != GlobalStatus.Unspecified => [status],
        _ => [],
    };

    /// <summary>The choices, as value and label.</summary>
    public static IEnumerable<(string Value, string Label)> Choices =>
        new[] { ("", "any status"), (UnfinishedName, "unfinished (not ended)"), (StoppedName, "stopped: a person must decide") }
            .Concat(Enum.GetValues<GlobalStatus>().Where(s => s != GlobalStatus.Unspecified).Select(s => (s.ToString(), ConsoleFormat.Status(s))));
}
