namespace AtProxy.Cli;

/// <summary>The process exit codes of <c>atproxy</c>, the same for every command.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>Refused: by the coordinator (illegal transition, unknown XID, token), by the operator at the prompt, or nothing to show.</summary>
    public const int Refused = 1;

    /// <summary>The command line is wrong: unknown command or option, a missing reason, a malformed value.</summary>
    public const int UsageError = 2;

    /// <summary>The coordinator or the database could not be reached.</summary>
    public const int Unreachable = 3;
}
