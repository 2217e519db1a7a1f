using System.Globalization;
using AtProxy.Cli.Tests.Support;
using Npgsql;

namespace AtProxy.Cli.Tests;

/// <summary>Every exit code and its one-line message: 0 success, 1 refused, 2 usage error, 3 unreachable.</summary>
[Collection(CliCollection.Name)]
public class ExitCodeTests(CliEnvironment env)
{
    [Theory]
    [InlineData(new string[0], "Required command was not provided")]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    [InlineData(new[] { "tx", "list", "--status", "bogus" }, "'bogus' is not a transaction status")]
    [InlineData(new[] { "tx", "list", "--older-than", "soon" }, "'soon' is not a duration")]
    [InlineData(new[] { "tx", "list", "--page-size", "0" }, "--page-size must be 1..1000")]
    [InlineData(new[] { "tx", "retry", "tc:1", "--reason", "r", "--wait", "--wait-timeout", "soon" }, "'soon' is not a duration")]
    [InlineData(new[] { "locks", "list", "--page-size", "5000" }, "--page-size must be 1..1000")]
    [InlineData(new[] { "tx", "show" }, "Required argument missing")]
    [InlineData(new[] { "branch", "forget", "tc:1", "abc", "--reason", "r", "--yes" }, "'abc' is not a branch id")]
    [InlineData(new[] { "branch", "forget", "tc:1", "-5", "--reason", "r", "--yes" }, "'-5' is not a branch id")]
    [InlineData(new[] { "undo", "list" }, "--db")]
    [InlineData(new[] { "undo", "list", "--db", "Nonsense=1" }, "connection string given with --db is not valid")]
    [InlineData(new[] { "tx", "rollback", "tc:1", "--yes" }, "A reason is required")]
    [InlineData(new[] { "tx", "commit", "tc:1", "--reason", "   ", "--yes" }, "A reason is required")]
    [InlineData(new[] { "branch", "forget", "tc:1", "1", "--yes" }, "A reason is required")]
    [InlineData(new[] { "--coordinator", "not a url", "status" }, "is not an http:// or https:// URL")]
    [InlineData(new[] { "tx", "show", "not-an-xid" }, "not of the form 'node:sequence'")]
    [InlineData(new[] { "locks", "list", "--page-token", "garbage!" }, "page_token is not a token this coordinator issued")]
    public async Task Usage_errors_exit_2_with_what_to_fix(string[] arguments, string message)
    {
        var result = await env.Cli.RunAsync(arguments);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.StandardError);
        Assert.StartsWith("atproxy: ", result.StandardError);
        Assert.Equal("", result.StandardOutput);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("tx", "--help")]
    [InlineData("undo", "show", "--help")]
    public async Task Help_exits_0(params string[] arguments)
    {
        var result = await env.Cli.RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Usage:", result.StandardOutput);
    }

    [Theory]
    [InlineData("atproxy [command] [options]", "--help")]
    [InlineData("atproxy tx show <XID> [options]", "tx", "show", "--help")]
    public async Task Help_names_the_installed_command_not_the_assembly(string usage, params string[] arguments)
    {
        var result = await env.Cli.RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(usage, result.StandardOutput);
        Assert.DoesNotContain("AtProxy.Cli", result.StandardOutput);
    }

    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var result = await env.Cli.RunAsync("--version");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+", result.StandardOutput);
    }

    [Fact]
    public async Task Help_lists_every_command_of_the_public_surface()
    {
        var root = (await env.Cli.RunAsync("--help")).StandardOutput;
        foreach (var command in new[] { "locks", "tx", "branch", "undo", "status", "--coordinator", "--json" })
        {
            Assert.Contains(command, root);
        }
        var tx = (await env.Cli.RunAsync("tx", "--help")).StandardOutput;
        foreach (var command in new[] { "list", "show", "retry", "rollback", "commit" })
        {
            Assert.Contains(command, tx);
        }
    }

    [Fact]
    public async Task An_unreachable_coordinator_exits_3_for_every_command_that_needs_it()
    {
        var nowhere = $"http://127.0.0.1:{CliEnvironment.UnusedPort().ToString(CultureInfo.InvariantCulture)}";
        string[][] commands =
        [
            ["status"],
            ["locks", "list"],
            ["tx", "show", "tc:1", "--json"],
            ["tx", "rollback", "tc:1", "--reason", "r"],
            ["branch", "forget", "tc:1", "1", "--reason", "r", "--yes"],
        ];
        foreach (var command in commands)
        {
            var result = await env.Cli.RunAsync([.. command, "--coordinator", nowhere]);
            Assert.True(result.ExitCode == 3, result.ToString());
            Assert.Contains($"Cannot reach the coordinator at {nowhere}", result.StandardError);
            Assert.Contains("ATPROXY_COORDINATOR", result.StandardError);
            Assert.Single(result.StandardError.Trim().Split('\n'));
            Assert.Equal("", result.StandardOutput);
        }

        // The address also comes from the environment.
        var fromEnvironment = await env.Cli.RunAsync(["tx", "list"], null, new Dictionary<string, string?> { ["ATPROXY_COORDINATOR"] = nowhere });
        Assert.Equal(3, fromEnvironment.ExitCode);
        Assert.Contains(nowhere, fromEnvironment.StandardError);
    }

    [Fact]
    public async Task A_missing_or_wrong_admin_token_is_refused_with_exit_1()
    {
        var missing = await env.Cli.RunAsync(["locks", "list"], null, new Dictionary<string, string?> { ["ATPROXY_ADMIN_TOKEN"] = null });
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("requires 'authorization: Bearer <token>'", missing.StandardError);
        Assert.Contains("Set $ATPROXY_ADMIN_TOKEN", missing.StandardError);

        var wrong = await env.Cli.RunAsync(["tx", "list"], null, new Dictionary<string, string?> { ["ATPROXY_ADMIN_TOKEN"] = "not-the-token" });
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("The bearer token is not valid", wrong.StandardError);
    }

    [Fact]
    public async Task An_unknown_transaction_is_refused_with_exit_1()
    {
        var show = await env.Cli.RunAsync("tx", "show", "tc:987654321");
        Assert.Equal(1, show.ExitCode);
        Assert.Contains("No global transaction 'tc:987654321' is known", show.StandardError);
        Assert.Contains("atproxy tx list", show.StandardError);

        // Without --yes the prompt first reads the transaction, so an unknown one is refused before any question.
        var rollback = await env.Cli.RunAsync(["tx", "rollback", "tc:987654321", "--reason", "r"], standardInput: "y\n");
        Assert.Equal(1, rollback.ExitCode);
        Assert.Contains("No global transaction 'tc:987654321' is known", rollback.StandardError);
        Assert.DoesNotContain("[y/N]", rollback.StandardError);

        var commit = await env.Cli.RunAsync("tx", "commit", "tc:987654321", "--reason", "r", "--yes");
        Assert.Equal(1, commit.ExitCode);
        Assert.Contains("No global transaction 'tc:987654321' is known", commit.StandardError);
    }

    [Fact]
    public async Task A_prompt_without_an_answer_is_a_refusal_not_a_yes()
    {
        var (xid, _) = await env.CreateDirtyWriteAsync("prompt-eof");
        var result = await env.Cli.RunAsync(["tx", "rollback", xid, "--reason", "r"], standardInput: "");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("[y/N]", result.StandardError);
        Assert.Contains("Not confirmed", result.StandardError);
        Assert.Equal(Protocol.V1.GlobalStatus.RollbackFailed, (await env.GetTransactionAsync(xid)).Transaction.Status);

        // Retrying without fixing the data: --wait reports that the rollback stopped again, and why.
        var again = await env.Cli.RunAsync("tx", "retry", xid, "--reason", "try once more", "--yes", "--wait", "--wait-timeout", "30s");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"retry: {xid} is now ROLLBACK_FAILED.", again.StandardOutput);
        Assert.Contains("stopped again in ROLLBACK_FAILED: dirty write", again.StandardError);

        // Leave nothing held for the other tests: the outside value is kept and the branch forgotten.
        var cleanup = await env.Cli.RunAsync("branch", "forget", xid, (await env.GetTransactionAsync(xid)).Transaction.Branches[0].BranchId.ToString(CultureInfo.InvariantCulture), "--reason", "test cleanup", "--yes");
        Assert.Equal(0, cleanup.ExitCode);
    }

    [Fact]
    public async Task An_unreachable_or_missing_database_exits_3()
    {
        var port = CliEnvironment.UnusedPort().ToString(CultureInfo.InvariantCulture);
        var down = await env.Cli.RunAsync("undo", "list", "--db", $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=5");
        Assert.Equal(3, down.ExitCode);
        Assert.Contains("Cannot reach the database", down.StandardError);
        Assert.Contains("--db", down.StandardError);

        var missing = new NpgsqlConnectionStringBuilder(env.InventoryConnectionString) { Database = "no_such_database_here" }.ConnectionString;
        var show = await env.Cli.RunAsync("undo", "show", "--db", missing, "tc:1");
        Assert.Equal(3, show.ExitCode);
        Assert.Contains("no_such_database_here", show.StandardError);
    }

    [Fact]
    public async Task A_database_without_an_undo_log_or_without_the_transaction_is_refused_with_exit_1()
    {
        await using var empty = await env.Server.CreateDatabaseAsync("cli_no_undo");
        var list = await env.Cli.RunAsync("undo", "list", "--db", empty.ConnectionString);
        Assert.Equal(1, list.ExitCode);
        Assert.Contains("no atproxy_undo_log table", list.StandardError);
        var otherSchema = await env.Cli.RunAsync("undo", "list", "--db", env.InventoryConnectionString, "--schema", "elsewhere");
        Assert.Equal(1, otherSchema.ExitCode);
        Assert.Contains("schema 'elsewhere'", otherSchema.StandardError);

        var show = await env.Cli.RunAsync("undo", "show", "--db", env.InventoryConnectionString, "tc:987654321");
        Assert.Equal(1, show.ExitCode);
        Assert.Contains("No undo rows for 'tc:987654321'", show.StandardError);
    }
}
