using System.CommandLine;
using System.CommandLine.Help;
using AtProxy.Cli.Commands;

namespace AtProxy.Cli;

/// <summary>Builds the command tree, parses the arguments and turns every outcome into an exit code.</summary>
internal static class CliApplication
{
    /// <summary>The command's name wherever it is shown: the tool is installed as <c>atproxy</c>, whatever its assembly is called.</summary>
    public const string CommandName = "atproxy";

    public static Command BuildRoot()
    {
        // Not a RootCommand: that one takes its name from the executable (AtProxy.Cli), and a usage line
        // saying "AtProxy.Cli" sends a user to a command that does not exist.
        var root = new Command(CommandName, "atproxy: see AtProxy's global locks, transactions and undo logs, and repair what is stuck.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        CommonOptions.AddTo(root);
        root.Add(LocksCommands.Create());
        root.Add(TransactionCommands.Create());
        root.Add(BranchCommands.Create());
        root.Add(UndoCommands.Create());
        root.Add(StatusCommand.Create());
        root.Add(AlertsCommands.Create());
        root.Add(AuditCommands.Create());
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var parseResult = BuildRoot().Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
            {
                await Console.Error.WriteLineAsync($"atproxy: {error.Message}");
            }
            await Console.Error.WriteLineAsync($"Run '{UsageHint(parseResult)} --help' for the usage.");
            return ExitCodes.UsageError;
        }

        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        try
        {
            return await parseResult.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellation.Token);
        }
        catch (CliFailure failure)
        {
            await Console.Error.WriteLineAsync($"atproxy: {failure.Message}");
            return failure.ExitCode;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("atproxy: cancelled.");
            return ExitCodes.Refused;
        }
    }

    // "atproxy tx show" for an error inside "tx show", so the hint names the command that was meant.
    private static string UsageHint(ParseResult parseResult)
    {
        var names = new List<string>();
        for (var result = parseResult.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(result.Command.Name);
        }
        names.Reverse();
        return string.Join(' ', names);
    }
}
