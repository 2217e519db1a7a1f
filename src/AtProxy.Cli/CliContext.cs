using System.CommandLine;
using AtProxy.Cli.Coordinator;
using AtProxy.Cli.Rendering;

namespace AtProxy.Cli;

/// <summary>What a command handler needs from the command line and the environment, resolved once.</summary>
internal sealed class CliContext
{
    private CliContext(ParseResult parseResult, CliOutput output)
    {
        ParseResult = parseResult;
        Output = output;
    }

    public ParseResult ParseResult { get; }

    public CliOutput Output { get; }

    public static CliContext From(ParseResult parseResult) =>
        new(parseResult, CliOutput.Create(parseResult.GetValue(CommonOptions.Json)));

    /// <summary>A connection to the coordinator's admin API from --coordinator or the environment.</summary>
    public AdminConnection ConnectToCoordinator()
    {
        var address = CoordinatorAddress.Resolve(ParseResult.GetValue(CommonOptions.Coordinator));
        var token = Environment.GetEnvironmentVariable(CommonOptions.AdminTokenVariable);
        var operatorName = Environment.GetEnvironmentVariable(CommonOptions.OperatorVariable) is { Length: > 0 } configured
            ? configured
            : Environment.UserName;
        return new AdminConnection(address, string.IsNullOrWhiteSpace(token) ? null : token.Trim(), operatorName);
    }
}
