namespace AtProxy.Cli;

/// <summary>
/// Ends a command with an exit code and one line for the operator that says what went wrong
/// and what to do. Thrown anywhere below a command; <see cref="CliApplication"/> prints it.
/// </summary>
internal sealed class CliFailure : Exception
{
    public CliFailure(int exitCode, string message, Exception? inner = null)
        : base(OneLine(message), inner)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }

    public static CliFailure Usage(string message) => new(ExitCodes.UsageError, message);

    public static CliFailure Refused(string message) => new(ExitCodes.Refused, message);

    public static CliFailure Unreachable(string message, Exception? inner = null) => new(ExitCodes.Unreachable, message, inner);

    // Messages from servers may span lines; the operator gets exactly one.
    private static string OneLine(string message) =>
        string.Join(' ', message.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(part => part.Trim()));
}
