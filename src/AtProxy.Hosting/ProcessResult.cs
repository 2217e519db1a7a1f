namespace AtProxy.Hosting;

/// <summary>How a program run by <see cref="ProcessRunner"/> ended.</summary>
/// <param name="ExitCode">The program's exit code.</param>
/// <param name="Output">Its standard output and standard error, interleaved as they came.</param>
public sealed record ProcessResult(int ExitCode, string Output);
