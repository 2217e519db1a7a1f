namespace AtProxy.Hosting;

/// <summary>How <see cref="ChildProcess.Start"/> starts a program.</summary>
public sealed class ChildProcessOptions
{
    /// <summary>Environment variables set for the program, over the caller's own.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The program's working directory; null for the caller's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>How many of the last output lines <see cref="ChildProcess.OutputTail"/> keeps.</summary>
    public int OutputLinesKept { get; init; } = ChildProcess.DefaultOutputLinesKept;

    /// <summary>Called with each line of output as it comes (on a thread-pool thread), e.g. to spot a start-up line.</summary>
    public Action<string>? OnOutputLine { get; init; }
}
