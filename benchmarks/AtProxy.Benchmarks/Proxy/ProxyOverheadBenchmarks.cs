using AtProxy.Hosting;
using BenchmarkDotNet.Attributes;
using Npgsql;

namespace AtProxy.Benchmarks.Proxy;

/// <summary>
/// What the proxied connection costs outside a global transaction, against the bare Npgsql data
/// source it wraps, on the same server in the same run: open a pooled connection, run one
/// parameterized statement, close. The ratio column is the number to watch.
/// </summary>
[MemoryDiagnoser]
public class ProxyOverheadBenchmarks
{
    private PostgresInstance _server = null!;
    private ScratchDatabase _database = null!;
    private NpgsqlDataSource _bare = null!;
    private AtProxyClient _client = null!;
    private AtDbDataSource _proxied = null!;

    [GlobalSetup]
    public void Setup()
    {
        _server = PostgresInstance.StartAsync().GetAwaiter().GetResult();
        _database = _server.CreateDatabaseAsync("bench").GetAwaiter().GetResult();
        using (var connection = new NpgsqlConnection(_database.ConnectionString))
        {
            connection.Open();
            using var create = new NpgsqlCommand("CREATE TABLE stock (sku text PRIMARY KEY, count int NOT NULL); INSERT INTO stock SELECT 'sku-' || i, 100 FROM generate_series(1, 1000) i", connection);
            create.ExecuteNonQuery();
        }
        _bare = NpgsqlDataSource.Create(_database.ConnectionString);
        // No global transaction is begun, so the coordinator is never called.
        _client = AtProxyClient.Create(new AtProxyOptions { Coordinator = new Uri("http://127.0.0.1:9"), ApplicationId = "bench" });
        _proxied = _client.Wrap(NpgsqlDataSource.Create(_database.ConnectionString), "bench-db");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _proxied.Dispose();
        _bare.Dispose();
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _database.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public async Task<int> BareNpgsql()
    {
        await using var connection = await _bare.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE stock SET count = count WHERE sku = @sku";
        command.Parameters.AddWithValue("sku", "sku-7");
        return await command.ExecuteNonQueryAsync();
    }

    [Benchmark]
    public async Task<int> ProxiedOutsideGlobalTransaction()
    {
        await using var connection = await _proxied.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE stock SET count = count WHERE sku = @sku";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "sku";
        parameter.Value = "sku-7";
        command.Parameters.Add(parameter);
        return await command.ExecuteNonQueryAsync();
    }
}
