using System.CommandLine;
using AtProxy.Cli.Coordinator;
using AtProxy.Cli.Input;
using AtProxy.Cli.Rendering;
using AtProxy.Cli.Undo;

namespace AtProxy.Cli.Commands;

/// <summary>
/// <c>atproxy undo list|show</c>: the undo log of one resource database, read directly with <c>--db</c>;
/// <c>show</c> without <c>--db</c> asks the coordinator, whose resource managers read it (no database credentials needed).
/// </summary>
internal static class UndoCommands
{
    private const int ShowLimit = 10_000;

    public static Command Create() => new("undo", "The undo log (atproxy_undo_log) of one resource database: read directly with --db, or through the coordinator.")
    {
        List(),
        Show(),
    };

    private static Option<string> DbOption(bool required = true) => new("--db")
    {
        Description = required
            ? "The resource database's connection string (Host=...;Database=...;Username=...)."
            : "Read the resource database directly with this connection string (Host=...;Database=...;Username=...). " +
              "Without it the coordinator asks the branch's resource manager, so no database credentials are needed.",
        HelpName = "CONNSTR",
        Required = required,
    };

    private static Option<string?> SchemaOption() => new("--schema")
    {
        Description = "The schema of atproxy_undo_log when the proxy was configured with one (default: the connection's search path).",
        HelpName = "SCHEMA",
    };

    private static Command List()
    {
        var db = DbOption();
        var schema = SchemaOption();
        var xid = new Option<string?>("--xid") { Description = "Only the rows of this global transaction.", HelpName = "XID" };
        var limit = new Option<int>("--limit")
        {
            Description = "At most this many rows, oldest first.",
            DefaultValueFactory = _ => 100,
            CustomParser = result => Numbers.Parse(result, "--limit", 1, ShowLimit),
            HelpName = "N",
        };
        var command = new Command("list", "List undo rows, oldest first: XID, branch, marker or records, how the transaction ended (asked of the coordinator), tables, size, age.") { db, schema, xid, limit };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            var reader = new UndoLogReader(parseResult.GetRequiredValue(db), parseResult.GetValue(schema));
            var rows = await reader.ReadAsync(parseResult.GetValue(xid), branchId: null, parseResult.GetValue(limit), cancellationToken);
            var outcomes = await TransactionStatusLookup.LookUpAsync(context, rows.Select(r => r.Xid), cancellationToken);
            UndoViews.RenderList(context.Output, rows, outcomes, DateTimeOffset.UtcNow);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show()
    {
        var db = DbOption(required: false);
        var schema = SchemaOption();
        var xid = new Argument<string>("XID") { Description = "The global transaction, e.g. tc:42." };
        var branch = new Argument<long?>("BRANCH")
        {
            Description = "Only this branch (default: every branch of XID in this database).",
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = result => result.Tokens.Count == 0 ? null : Numbers.BranchId(result),
        };
        var noCurrent = new Option<bool>("--no-current")
        {
            Description = "Do not read the rows as their tables hold them now (by default they are shown, and columns that differ from the after image are marked).",
        };
        var command = new Command("show",
            "Show the undo records of a transaction: per row, the before, after and current values side by side, changed and dirty columns marked. " +
            "Without --db, the coordinator asks each branch's resource manager for them.")
        {
            db, schema, xid, branch, noCurrent,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            var target = parseResult.GetRequiredValue(xid);
            var branchId = parseResult.GetValue(branch);
            if (parseResult.GetValue(db) is not { } connectionString)
            {
                if (parseResult.GetValue(schema) is not null)
                {
                    throw CliFailure.Usage("--schema applies to --db only: without --db the resource manager reads its own undo log.");
                }
                using var coordinator = context.ConnectToCoordinator();
                var images = await CoordinatorUndoReader.ReadAsync(coordinator, target, branchId, cancellationToken);
                UndoViews.RenderImages(context.Output, images, showCurrent: !parseResult.GetValue(noCurrent));
                return ExitCodes.Success;
            }
            var reader = new UndoLogReader(connectionString, parseResult.GetValue(schema));
            var rows = await reader.ReadDetailAsync(target, branchId, ShowLimit, readCurrent: !parseResult.GetValue(noCurrent), cancellationToken);
            if (rows.Count == 0)
            {
                var what = branchId is { } id ? $"branch {Formats.Number(id)} of '{target}'" : $"'{target}'";
                throw CliFailure.Refused(
                    $"No undo rows for {what} in this database. They are deleted once a branch is committed or rolled back; check that --db names the branch's resource database.");
            }
            var outcomes = await TransactionStatusLookup.LookUpAsync(context, rows.Select(r => r.Row.Xid), cancellationToken);
            UndoViews.RenderDetail(context.Output, [.. rows.Select(detail => detail.WithOutcome(outcomes[detail.Row.Xid]))]);
            return ExitCodes.Success;
        });
        return command;
    }
}
