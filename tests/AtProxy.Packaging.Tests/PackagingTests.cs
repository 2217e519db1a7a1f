using System.Globalization;
using AtProxy.Hosting;
using AtProxy.Testing.Postgres;
using Npgsql;

namespace AtProxy.Packaging.Tests;

/// <summary>
/// AtProxy installed the way a user installs it: <c>build.ps1 pack</c> makes the packages; a new
/// ASP.NET Core application outside the repository (its own nuget.config: the pack folder, then
/// nuget.org; nothing of the repository's Directory.*.props) adds them by name; both tools are
/// installed from the folder with <c>dotnet tool install --tool-path</c>; the tool-installed
/// coordinator decides a global transaction across two databases that commits and one that rolls
/// back, and the rows say so.
/// </summary>
/// <remarks>
/// Online: the application's other dependencies (Npgsql, gRPC, EF Core) come from nuget.org, or
/// from the machine's NuGet cache where a build of the repository has put them already; CI reaches
/// nuget.org. Offline otherwise: the AtProxy packages come only from the folder. Their version is
/// new for every run (a prerelease with a time stamp), so no cache can serve an older build of them;
/// the run removes them from the NuGet cache when it ends.
/// </remarks>
public class PackagingTests
{
    private static readonly TimeSpan StepLimit = TimeSpan.FromMinutes(8);
    private static readonly string[] Libraries = ["AtProxy", "AtProxy.Protocol", "AtProxy.AspNetCore", "AtProxy.EntityFrameworkCore"];
    private static readonly string[] Tools = ["AtProxy.Cli", "AtProxy.Coordinator"];

    [Fact]
    public async Task Packages_and_tools_installed_outside_the_repository_commit_and_roll_back_a_global_transaction_across_two_databases()
    {
        var version = $"0.0.1-packaging.{DateTime.UtcNow:yyyyMMddHHmmss}.{Guid.NewGuid().ToString("N")[..6]}";
        var work = Directory.CreateTempSubdirectory("atproxy-packaging-").FullName;
        try
        {
            var packages = Path.Combine(work, "packages");
            await PackAsync(work, version, packages);
            Assert.All(Libraries.Concat(Tools), id =>
            {
                Assert.True(File.Exists(Path.Combine(packages, $"{id}.{version}.nupkg")), $"{id}.{version}.nupkg was not packed");
                Assert.True(File.Exists(Path.Combine(packages, $"{id}.{version}.snupkg")), $"{id}.{version}.snupkg (symbols) was not packed");
            });

            // Outside the repository, and cut off from anything above the work directory.
            foreach (var file in (string[])["Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props"])
            {
                await File.WriteAllTextAsync(Path.Combine(work, file), "<Project />");
            }
            await File.WriteAllTextAsync(Path.Combine(work, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="atproxy-pack" value="{packages}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                </configuration>
                """);
            var app = await CreateApplicationAsync(work, version);
            var tools = await InstallToolsAsync(work, version);

            await using var orders = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("pkg_orders");
            await using var inventory = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("pkg_inventory");
            await ExecuteAsync(orders, "CREATE TABLE orders (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text NOT NULL)");
            await ExecuteAsync(inventory, "CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL); INSERT INTO stock VALUES ('widget', 10)");

            var coordinatorOptions = new CoordinatorServerOptions { Executable = Path.Combine(tools, "atproxy-coordinator") };
            await using var coordinator = await CoordinatorServer.StartAsync(coordinatorOptions);
            var run = await Run("dotnet", [app, coordinator.Address.ToString(), orders.ConnectionString, inventory.ConnectionString], work);

            Assert.True(run.ExitCode == 0, $"The application failed:\n{run.Output}");
            Assert.Contains("committed ", run.Output);
            Assert.Contains("rolled back ", run.Output);
            Assert.Equal(["kept"], await QueryAsync(orders, "SELECT note FROM orders ORDER BY id"));
            Assert.Equal(["9"], await QueryAsync(inventory, "SELECT count::text FROM stock WHERE sku = 'widget'"));
            Assert.Equal(["0"], await QueryAsync(orders, "SELECT count(*)::text FROM atproxy_undo_log"));
            Assert.Equal(["0"], await QueryAsync(inventory, "SELECT count(*)::text FROM atproxy_undo_log"));

            // The CLI tool reaches the tool-installed coordinator: both transactions ended, no lock left.
            var status = await Run(Path.Combine(tools, "atproxy"), ["locks", "list", "--coordinator", coordinator.Address.ToString(), "--json"], work);
            Assert.True(status.ExitCode == 0, $"atproxy locks list failed:\n{status.Output}");
            Assert.Contains("\"locks\": []", status.Output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            ForgetCachedPackages(version);
        }
    }

    /// <summary>Packs from a copy of the repository's sources with <c>build.ps1 pack</c>, the way the README says.</summary>
    private static async Task PackAsync(string work, string version, string packages)
    {
        var source = Path.Combine(work, "source");
        RepositoryCopy.CopyTo(source);
        var pack = await Run("dotnet", ["pwsh", "./build.ps1", "pack", "-PackageVersion", version, "-PackageOutput", packages], source);
        Assert.True(pack.ExitCode == 0, $"build.ps1 pack failed:\n{pack.Output}");
    }

    /// <summary><c>dotnet new web</c>, the packages added by name, the application's code; returns the built DLL.</summary>
    private static async Task<string> CreateApplicationAsync(string work, string version)
    {
        var directory = Path.Combine(work, "app");
        await Succeed("dotnet", ["new", "web", "--name", "PackagedApp", "--output", directory, "--no-restore"], work);
        foreach (var id in Libraries)
        {
            await Succeed("dotnet", ["add", "package", id, "--version", version, "--no-restore"], directory);
        }
        File.Copy(Path.Combine(AppContext.BaseDirectory, "ConsumerApp", "Program.cs"), Path.Combine(directory, "Program.cs"), overwrite: true);
        await Succeed("dotnet", ["build", "-c", "Release", "-nologo"], directory);
        var dll = Path.Combine(directory, "bin", "Release", "net10.0", "PackagedApp.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        return dll;
    }

    /// <summary>Installs both tools from the pack folder into a folder of their own; returns it.</summary>
    private static async Task<string> InstallToolsAsync(string work, string version)
    {
        var tools = Path.Combine(work, "tools");
        foreach (var id in Tools)
        {
            await Succeed("dotnet", ["tool", "install", id, "--version", version, "--tool-path", tools, "--configfile", Path.Combine(work, "nuget.config")], work);
        }
        return tools;
    }

    private static async Task Succeed(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var result = await Run(fileName, arguments, workingDirectory);
        Assert.True(result.ExitCode == 0, $"'{fileName} {string.Join(' ', arguments)}' failed:\n{result.Output}");
    }

    private static Task<ProcessResult> Run(string fileName, IEnumerable<string> arguments, string workingDirectory) =>
        ProcessRunner.RunAsync(fileName, arguments, asServerUser: false, StepLimit, workingDirectory);

    private static async Task ExecuteAsync(TestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> QueryAsync(TestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        return rows;
    }

    /// <summary>Removes this run's packages from the NuGet cache: their version is never used again.</summary>
    private static void ForgetCachedPackages(string version)
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Libraries.Concat(Tools))
        {
            var folder = Path.Combine(cache, id.ToLower(CultureInfo.InvariantCulture), version);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
