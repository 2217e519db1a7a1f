namespace AtProxy.Coordinator.Configuration;

/// <summary>The command line or the settings name something the coordinator does not know or cannot read; it must not start.</summary>
internal sealed class CoordinatorSettingsException(IReadOnlyList<string> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    /// <summary>Each problem, one line naming the argument or setting.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}
