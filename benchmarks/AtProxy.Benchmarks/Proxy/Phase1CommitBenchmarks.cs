using AtProxy.Coordinator;
using AtProxy.Hosting;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Benchmarks.Proxy;

/// <summary>
/// What AtProxy adds to one write, end to end: an UPDATE of one row in an explicit local
/// transaction on a real PostgreSQL server, against the same UPDATE in a plain Npgsql local
/// transaction (the baseline) in the same run. <see cref="OneBranchGlobalTransaction"/> is a whole global
/// transaction of one branch through <see cref="AtDbConnection"/> and the real coordinator hosted
/// in-process over loopback gRPC (memory store): begin; before image, the statement, after image;
/// at local commit the branch registration with its lock key, the undo insert and the COMMIT; then
/// the global commit. <see cref="BranchOnly"/> is that branch alone (phase 1 without begin and
/// global commit): it joins one global transaction begun at setup, so every operation registers
/// one more branch of it. Phase 2 (deleting the undo rows of committed branches) runs in the
/// background of the same process, as it would in an application. Rows rotate over 1,000 keys.
/// </summary>
[MemoryDiagnoser]
public class Phase1CommitBenchmarks
{
    private const int Accounts = 1000;
    private const string Update = "UPDATE account SET balance = balance + 1 WHERE id = @id";
    private PostgresInstance _server = null!;
    private ScratchDatabase _database = null!;
    private WebApplication _coordinator = null!;
    private NpgsqlDataSource _bare = null!;
    private AtProxyClient _client = null!;
    private AtDbDataSource _proxied = null!;
    private GlobalTransaction _longTransaction = null!;
    private string _dataDirectory = "";
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _server = await PostgresInstance.StartAsync();
        _database = await _server.CreateDatabaseAsync("bench");
        await using (var connection = new NpgsqlConnection(_database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL); INSERT INTO account SELECT i, 0 FROM generate_series(1, {Accounts}) i; ANALYZE account", connection);
            await create.ExecuteNonQueryAsync();
        }
        _dataDirectory = Path.Combine(Path.GetTempPath(), $"atproxy-bench-{Guid.NewGuid().ToString("N")[..12]}");
        _coordinator = CoordinatorApplication.Build(
            ["--urls", "http://127.0.0.1:0", "--store", "memory", "--data-dir", _dataDirectory, "--Coordinator:EndedRetentionMs=1000"],
            builder => builder.Logging.ClearProviders());
        await CoordinatorApplication.StartAsync(_coordinator);
        var address = _coordinator.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        _bare = NpgsqlDataSource.Create(_database.ConnectionString);
        _client = AtProxyClient.Create(new AtProxyOptions { Coordinator = new Uri(address), ApplicationId = "bench" });
        _proxied = _client.Wrap(NpgsqlDataSource.Create(_database.ConnectionString), "bench-db");
        // Begun inside this async method, so its ambient scope ends with it: only BranchOnly joins it.
        _longTransaction = await _client.BeginAsync("bench-branches", TimeSpan.FromHours(1));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _longTransaction.CommitAsync();
        await _longTransaction.DisposeAsync();
        await _client.DisposeAsync();
        _proxied.Dispose();
        _bare.Dispose();
        await _coordinator.StopAsync();
        await _coordinator.DisposeAsync();
        await _database.DisposeAsync();
        await _server.DisposeAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Benchmark(Baseline = true, Description = "plain Npgsql local transaction")]
    public async Task<int> PlainLocalTransaction()
    {
        await using var connection = await _bare.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(Update, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<int>("id", NextId()));
        var changed = await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return changed;
    }

    [Benchmark(Description = "branch only (phase 1 in a joined global tx)")]
    public async Task<int> BranchOnly()
    {
        using (_client.Join(_longTransaction.Xid))
        {
            return await ProxiedUpdateAsync();
        }
    }

    [Benchmark(Description = "begin + branch + global commit")]
    public async Task<int> OneBranchGlobalTransaction()
    {
        await using var global = await _client.BeginAsync("bench");
        var changed = await ProxiedUpdateAsync();
        await global.CommitAsync();
        return changed;
    }

    private async Task<int> ProxiedUpdateAsync()
    {
        await using var connection = await _proxied.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Update;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "id";
        parameter.Value = NextId();
        command.Parameters.Add(parameter);
        var changed = await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return changed;
    }

    private int NextId() => Interlocked.Increment(ref _next) % Accounts + 1;
}
