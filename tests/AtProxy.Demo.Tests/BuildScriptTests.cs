using AtProxy.Testing;

namespace AtProxy.Demo.Tests;

/// <summary>
/// <c>build.ps1</c> hands the words it does not take to the program unchanged, returns the
/// program's exit code, and on Ctrl+C waits for the program to clean up and exits 130.
/// </summary>
[Collection(DemoRuns.Name)]
public class BuildScriptTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData("--Coordinator:AdminTokn=s3cret", "Coordinator:AdminTokn (command line) is not a setting of the coordinator; did you mean AdminToken?")]
    [InlineData("--Coordinator:DefaultTimeoutMs=0", "Coordinator:DefaultTimeoutMs must be 1..MaxTimeoutMs")]
    [InlineData("--Coordinator:NodeId", "Coordinator:NodeId 'bad:name' must be 1..64 characters")]
    public async Task Coordinator_gets_colon_and_equals_settings_unchanged_and_its_exit_code_is_the_scripts(string setting, string expected)
    {
        string[] words = setting.Contains('=', StringComparison.Ordinal) ? [setting] : [setting, "bad:name"];
        using var script = BuildScript.Start(["coordinator", "-NoBuild", "--urls", "http://127.0.0.1:0", "-Configuration", "Release", "--store", "memory", .. words]);

        var exitCode = await script.WaitForExitAsync(Limit);

        Assert.True(exitCode == 2, $"build.ps1 exited with {exitCode}:\n{script.Output}");
        Assert.Contains($"The coordinator cannot start: {expected}", script.Output);
    }

    [Fact]
    public async Task Ctrl_C_on_the_demo_stops_everything_it_started_and_exits_130()
    {
        using var script = BuildScript.Start("demo", "-NoBuild", "-Orders", "40");
        await Eventually.TrueAsync(() => Task.FromResult(script.Output.Contains("started order service", StringComparison.Ordinal)), Limit,
            () => Task.FromResult($"the demo to start its services:\n{script.Output}"));

        script.Interrupt();
        var exitCode = await script.WaitForExitAsync(Limit);

        Assert.True(exitCode == 130, $"build.ps1 exited with {exitCode}:\n{script.Output}");
        Assert.Contains("Interrupted. Everything the demo started was stopped and its files deleted.", script.Output);
        Assert.Empty(script.ProcessesLeftInGroup());
    }
}
