using AtProxy.Coordinator.Configuration;
using AtProxy.Hosting;
using AtProxy.Testing.Coordinator;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Configuration;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// The coordinator refuses at start what it does not understand, each problem one line naming the
/// setting, with exit code 2; it says which calls its tokens protect and where its data is.
/// </summary>
public class StartupSettingsTests
{
    [Theory]
    [InlineData("--Coordinator AdminToken=s3cret", "--Coordinator AdminToken=... names no setting; write it as one word: --Coordinator:AdminToken=...")]
    [InlineData("--Coordinator:AdminTokn=s3cret", "Coordinator:AdminTokn (command line) is not a setting of the coordinator; did you mean AdminToken?")]
    [InlineData("--Coordinator:DefaultTimeoutMs=soon", "Coordinator:DefaultTimeoutMs (command line) is 'soon', which is not a whole number")]
    [InlineData("--store sqlite", "Coordinator:Store (command line) is 'sqlite', which is not one of Embedded, Memory, Postgres")]
    [InlineData("--Coordinator:DefaultTimeoutMs=0", "Coordinator:DefaultTimeoutMs must be 1..MaxTimeoutMs")]
    [InlineData("--Coordinator:AdminToken:Extra=1", "Coordinator:AdminToken:Extra (command line) is not a setting of the coordinator (Coordinator:AdminToken is a single value)")]
    [InlineData("--admin-token s3cret", "unknown setting --admin-token")]
    [InlineData("--verbose", "unknown setting --verbose")]
    [InlineData("-t 5", "unknown option '-t'")]
    [InlineData("serve", "unexpected argument 'serve'")]
    [InlineData("--Coordinator:AdminToken", "--Coordinator:AdminToken has no value.")]
    [InlineData("--Coordinator:AdminToken --store memory", "--Coordinator:AdminToken has no value (the word after it, --store, is a setting of its own).")]
    [InlineData("--admin-urls http://0.0.0.0:18093", "Coordinator:AdminUrls (--admin-urls): 'http://0.0.0.0:18093/' is not a loopback address, and no admin token is set")]
    [InlineData("--admin-urls 127.0.0.1:18093", "Coordinator:AdminUrls (--admin-urls): '127.0.0.1:18093' is not an absolute http or https URL")]
    [InlineData("--admin-urls http://127.0.0.1", "Coordinator:AdminUrls (--admin-urls): 'http://127.0.0.1' must name its port")]
    [InlineData("--admin-urls http://127.0.0.1:0", "Coordinator:AdminUrls (--admin-urls): 'http://127.0.0.1:0' must name its port")]
    [InlineData("--admin-urls http://127.0.0.1:18093/console", "Coordinator:AdminUrls (--admin-urls): 'http://127.0.0.1:18093/console' must have no path")]
    public async Task Start_with_an_unknown_argument_or_a_malformed_value_exits_2_with_one_line_naming_it(string arguments, string expected)
    {
        var result = await RunCoordinatorAsync(arguments.Split(' '));

        Assert.Equal(2, result.ExitCode);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("The coordinator cannot start: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("s3cret", line); // a token given the wrong way is not printed
    }

    [Fact]
    public async Task Start_with_an_unknown_setting_in_an_environment_variable_names_the_variable()
    {
        var result = await RunCoordinatorAsync([], "ATPROXY_Coordinator__RetryMaxDelay=5000");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Coordinator:RetryMaxDelay (environment variable ATPROXY_Coordinator__RetryMaxDelay) is not a setting of the coordinator; did you mean RetryMaxDelayMs?", result.Output);
    }

    [Fact]
    public async Task Start_with_every_problem_reports_each_on_a_line_of_its_own()
    {
        var result = await RunCoordinatorAsync(["--Coordinator:Bogus=1", "--Coordinator:SweepIntervalMs=often"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(2, result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("Coordinator:Bogus (command line) is not a setting", result.Output);
        Assert.Contains("Coordinator:SweepIntervalMs (command line) is 'often'", result.Output);
    }

    [Fact]
    public async Task Build_with_an_unknown_setting_in_a_settings_file_names_the_file()
    {
        var file = Path.Combine(Path.GetTempPath(), $"atproxy-settings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{ "Coordinator": { "NodeId": "tc-9", "MaxLockKeys": 10 } }""");
        try
        {
            var error = Assert.Throws<CoordinatorSettingsException>(() =>
                CoordinatorApplication.Build(["--urls", "http://127.0.0.1:0", "--store", "memory"], builder => builder.Configuration.AddJsonFile(file)));

            Assert.Equal($"Coordinator:MaxLockKeys ({file}) is not a setting of the coordinator; did you mean MaxLockKeysPerBranch?", Assert.Single(error.Problems));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Every_property_of_the_options_is_accepted_so_new_settings_need_no_change_to_the_check()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(typeof(CoordinatorOptions).GetProperties().Select(p => KeyValuePair.Create($"Coordinator:{p.Name}", (string?)null)))
            .Build();

        Assert.Empty(CoordinatorSettingsCheck.Problems(configuration));
    }

    [Theory]
    [InlineData("--Coordinator:AdminToken=s3cret")]
    [InlineData("--Coordinator:AdminToken", "s3cret")]
    public async Task Admin_token_given_in_either_command_line_form_protects_admin_calls_and_the_start_says_so(params string[] token)
    {
        var options = new CoordinatorProcessOptions { Store = "memory" };
        foreach (var word in token)
        {
            options.Arguments.Add(word);
        }
        await using var coordinator = await CoordinatorProcess.StartAsync(options);

        var refused = await Assert.ThrowsAsync<RpcException>(() => new Protocol.V1.Admin.AdminClient(coordinator.Channel).GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        var admin = new Protocol.V1.Admin.AdminClient(coordinator.Channel.Intercept(m => { m.Add("authorization", "Bearer s3cret"); return m; }));
        Assert.Equal("memory", (await admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).StoreKind);
        Assert.Contains("Application calls: open, no token required (set Coordinator:ApplicationToken to require one); admin calls: protected by Coordinator:AdminToken", coordinator.Output);
    }

    [Fact]
    public async Task Admin_endpoint_on_the_grpc_port_is_refused_naming_the_port()
    {
        var port = FreePort.Find().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = await RunCoordinatorAsync(["--urls", $"http://127.0.0.1:{port}", "--admin-urls", $"http://127.0.0.1:{port}"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"Coordinator:AdminUrls (--admin-urls) uses port {port}, which the gRPC endpoint (--urls http://127.0.0.1:{port}) uses too", result.Output);
    }

    [Fact]
    public async Task Admin_endpoint_next_to_Kestrel_endpoints_is_refused_since_Kestrel_would_not_listen_on_it()
    {
        var grpc = FreePort.Find().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var admin = FreePort.Find().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = await RunCoordinatorAsync([$"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{grpc}", "--admin-urls", $"http://127.0.0.1:{admin}"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Coordinator:AdminUrls (--admin-urls) cannot be combined with Kestrel:Endpoints", result.Output);
    }

    [Fact]
    public async Task Admin_endpoint_beyond_loopback_is_accepted_once_an_admin_token_protects_it()
    {
        var port = FreePort.Find();
        var options = new CoordinatorProcessOptions { Store = "memory" };
        options.Settings["Coordinator:AdminToken"] = "s3cret";
        options.Settings["Coordinator:AdminUrls"] = $"http://0.0.0.0:{port}";
        await using var coordinator = await CoordinatorProcess.StartAsync(options);

        Assert.Contains($"Admin endpoint (console, /metrics, /healthz) on http://0.0.0.0:{port}: sign-in or a bearer token required", coordinator.Output);
        Assert.DoesNotContain("s3cret", coordinator.Output);
    }

    [Fact]
    public async Task Start_without_tokens_says_that_application_and_admin_calls_are_open()
    {
        await using var coordinator = await CoordinatorProcess.StartAsync(new CoordinatorProcessOptions { Store = "memory" });

        Assert.Contains("Application calls: open, no token required (set Coordinator:ApplicationToken to require one); admin calls: open, no token required (set Coordinator:AdminToken to require one)", coordinator.Output);
    }

    [Fact]
    public async Task Embedded_store_without_a_data_directory_lives_under_local_application_data_and_the_start_names_it()
    {
        var home = Directory.CreateTempSubdirectory("atproxy-home-").FullName;
        try
        {
            var options = new CoordinatorProcessOptions { Store = "embedded", DataDirectory = home };
            // The data directory the test helper passes is dropped: the default is what is tested.
            options.Arguments.Add("--data-dir=");
            options.Environment["XDG_DATA_HOME"] = Path.Combine(home, "share");
            options.Settings["Coordinator:NodeId"] = "tc-home";
            await using var coordinator = await CoordinatorProcess.StartAsync(options);

            var expected = Path.Combine(home, "share", "atproxy", "coordinator", "tc-home");
            Assert.True(File.Exists(Path.Combine(expected, "coordinator.lock")), coordinator.Output);
            Assert.Contains($"The embedded store's data directory is {expected}", coordinator.Output);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>Runs the built coordinator to its end (a refusal ends it at once), optionally under environment variables.</summary>
    private static Task<ProcessResult> RunCoordinatorAsync(IEnumerable<string> arguments, params string[] environment) =>
        ProcessRunner.RunAsync("env", [.. environment, "dotnet", CoordinatorBinary.Find(), "--urls", "http://127.0.0.1:0", "--store", "memory", .. arguments],
            asServerUser: false, TimeSpan.FromSeconds(60));
}
