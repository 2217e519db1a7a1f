using System.Diagnostics;
using System.Globalization;
using System.Text;
using AtProxy.Hosting;
using AtProxy.Load.Measurements;
using AtProxy.Protocol.V1;
using Dapper;
using Grpc.Net.Client;
using Npgsql;

namespace AtProxy.Load.CoordinatorStores;

/// <summary>
/// The coordinator's own throughput on each store, in one run on the same machine: the embedded
/// store with one coordinator, the PostgreSQL store with one and with three coordinator
/// processes sharing it. A transaction is begin, two branches of three keys, commit, and phase 2
/// answered by a resource manager streaming to every coordinator; the run's clock stops once
/// the last transactions begun reached COMMITTED, so phase 2 is paid for. Clients go to the
/// coordinators in turn. The CPU time of the coordinator processes and of the clients over the
/// measured run is reported per transaction: on a machine whose cores everything shares, that,
/// not the throughput alone, tells what a coordinator with cores of its own would sustain. For the
/// shared store, the requests PostgreSQL received (<see cref="PostgresRequests"/>: round trips,
/// counted by the kernel, not by the coordinator) and the cluster's CPU are reported per transaction too.
/// </summary>
internal static class CoordinatorStoreComparison
{
    private static readonly (string Store, int Instances)[] Configurations = [("embedded", 1), ("postgres", 1), ("postgres", 3)];

    public static async Task<IReadOnlyList<StoreRunResult>> RunAsync(
        int clients, TimeSpan duration, string outputDirectory, DateTimeOffset started, Action<string> progress, string? coordinatorDll = null)
    {
        await using var server = await PostgresInstance.StartAsync();
        var durability = await DurableDatabase.MakeDurableAsync(server);
        var postgres = await PostgresServerAsync(server);
        var results = new List<StoreRunResult>();
        foreach (var (store, instances) in Configurations)
        {
            progress($"coordinator store {store} x{instances}: starting");
            await using var database = await server.CreateDatabaseAsync("coordinator_store");
            var result = await RunOneAsync(store, instances, database.ConnectionString, clients, duration, postgres, coordinatorDll);
            results.Add(result);
            progress($"coordinator store {store} x{instances}: {result.ThroughputPerSecond:F0} global tx/s, p99 {result.P99Ms:F1} ms");
        }
        Write(results, outputDirectory, started, duration, durability);
        return results;
    }

    // The server's port (whose connections are counted) and postmaster (whose processes' CPU is).
    private static async Task<(int Port, int? PostmasterPid)> PostgresServerAsync(PostgresInstance server)
    {
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        var backend = await connection.ExecuteScalarAsync<int>("SELECT pg_backend_pid()");
        return (new NpgsqlConnectionStringBuilder(server.AdminConnectionString).Port, ProcessCpu.ParentOf(backend));
    }

    private static async Task<StoreRunResult> RunOneAsync(
        string store, int instances, string storeConnection, int clients, TimeSpan duration, (int Port, int? PostmasterPid) postgres, string? coordinatorDll)
    {
        var coordinators = new List<CoordinatorServer>();
        var managers = new List<AcknowledgingResourceManager>();
        try
        {
            for (var i = 1; i <= instances; i++)
            {
                var options = new CoordinatorServerOptions { Store = store, CoordinatorDll = coordinatorDll };
                options.Settings["Coordinator:NodeId"] = $"tc-{i}";
                options.Settings["Coordinator:EndedRetentionMs"] = "5000";
                options.Settings["Logging:LogLevel:Default"] = "Warning";
                if (store == "postgres")
                {
                    options.Settings["Coordinator:StoreConnection"] = storeConnection;
                }
                coordinators.Add(await CoordinatorServer.StartAsync(options));
            }
            foreach (var coordinator in coordinators)
            {
                managers.Add(await AcknowledgingResourceManager.ConnectAsync(coordinator.Channel, "orders-db", "stock-db"));
            }

            var keys = 0L;
            // Warm-up, not counted: long enough for tiered compilation to settle in the coordinators.
            var warmUp = TimeSpan.FromSeconds(Math.Max(2, duration.TotalSeconds / 2));
            await DriveAsync(coordinators, clients, warmUp, () => Interlocked.Increment(ref keys), []);
            var latencies = new List<double>();
            var coordinatorCpuBefore = CpuTimeOf(coordinators);
            var clientCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var postgresCpuBefore = postgres.PostmasterPid is { } pid ? ProcessCpu.OfPostgresCluster(pid) : null;
            var requestsBefore = await PostgresRequests.ReceivedAsync(postgres.Port);
            var watch = Stopwatch.StartNew();
            var (count, lastXids) = await DriveAsync(coordinators, clients, duration, () => Interlocked.Increment(ref keys), latencies);
            await WaitCommittedAsync(coordinators[0].Channel, lastXids);
            watch.Stop();
            var coordinatorCpu = CpuTimeOf(coordinators) - coordinatorCpuBefore;
            var clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpuBefore;
            var postgresCpu = postgres.PostmasterPid is { } postmaster && postgresCpuBefore is { } cpuBefore ? ProcessCpu.OfPostgresCluster(postmaster) - cpuBefore : null;
            var requests = await PostgresRequests.ReceivedAsync(postgres.Port) - requestsBefore;
            latencies.Sort();
            var p99 = latencies.Count == 0 ? 0 : latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(latencies.Count * 0.99) - 1)];
            return new StoreRunResult(store, instances, clients, count, watch.Elapsed.TotalSeconds, p99, coordinatorCpu, clientCpu)
            {
                PostgresRequests = store == "postgres" ? requests : null,
                PostgresCpu = store == "postgres" ? postgresCpu : null,
            };
        }
        finally
        {
            foreach (var manager in managers)
            {
                await manager.DisposeAsync();
            }
            foreach (var coordinator in coordinators)
            {
                await coordinator.DisposeAsync();
            }
        }
    }

    private static TimeSpan CpuTimeOf(List<CoordinatorServer> coordinators)
    {
        var total = TimeSpan.Zero;
        foreach (var coordinator in coordinators)
        {
            using var process = Process.GetProcessById(coordinator.ProcessId);
            total += process.TotalProcessorTime;
        }
        return total;
    }

    // Returns how many transactions committed, and each client's last one.
    private static async Task<(long Count, List<string> LastXids)> DriveAsync(List<CoordinatorServer> coordinators, int clients, TimeSpan duration, Func<long> nextKey, List<double> latencies)
    {
        var count = 0L;
        var lastXids = new List<string>();
        using var stop = new CancellationTokenSource(duration);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var channel = coordinators[client % coordinators.Count].Channel;
            var tm = new TransactionManager.TransactionManagerClient(channel);
            var rm = new ResourceManager.ResourceManagerClient(channel);
            var mine = 0L;
            string? last = null;
            var times = new List<double>();
            while (!stop.IsCancellationRequested)
            {
                var began = Stopwatch.GetTimestamp();
                var xid = (await tm.BeginAsync(new BeginRequest { ApplicationId = "store-bench", Name = "place-order", TimeoutMs = 60_000 })).Xid;
                await RegisterAsync(rm, xid, "orders-db", "public.orders", nextKey);
                await RegisterAsync(rm, xid, "stock-db", "public.stock", nextKey);
                var status = (await tm.CommitAsync(new CommitRequest { Xid = xid })).Status;
                if (status is not (GlobalStatus.AsyncCommitting or GlobalStatus.Committed))
                {
                    throw new InvalidOperationException($"Commit of {xid} answered {status}.");
                }
                times.Add(Stopwatch.GetElapsedTime(began).TotalMilliseconds);
                mine++;
                last = xid;
            }
            lock (lastXids)
            {
                count += mine;
                if (last is not null)
                {
                    lastXids.Add(last);
                }
                latencies.AddRange(times);
            }
        })));
        return (count, lastXids);
    }

    private static async Task RegisterAsync(ResourceManager.ResourceManagerClient rm, string xid, string resourceId, string table, Func<long> nextKey)
    {
        var request = new RegisterBranchRequest { Xid = xid, ResourceId = resourceId, ApplicationId = "store-bench" };
        for (var i = 0; i < 3; i++)
        {
            request.LockKeys.Add(new LockKey { Table = table, PrimaryKey = nextKey().ToString(CultureInfo.InvariantCulture) });
        }
        if ((await rm.RegisterBranchAsync(request)).Conflict is not null)
        {
            throw new InvalidOperationException($"Unexpected lock conflict for {xid}: every key is new.");
        }
    }

    // Phase 2 is part of a transaction's cost: each client's last one is waited for (any coordinator answers for the shared store).
    private static async Task WaitCommittedAsync(GrpcChannel channel, List<string> xids)
    {
        var tm = new TransactionManager.TransactionManagerClient(channel);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        foreach (var xid in xids)
        {
            while (await StatusAsync(tm, xid) != GlobalStatus.Committed)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{xid} did not reach COMMITTED within two minutes.");
                }
                await Task.Delay(5);
            }
        }
    }

    private static async Task<GlobalStatus> StatusAsync(TransactionManager.TransactionManagerClient tm, string xid)
    {
        try
        {
            return (await tm.GetStatusAsync(new GetStatusRequest { Xid = xid })).Status;
        }
        catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.NotFound)
        {
            return GlobalStatus.Committed; // ended and purged after its retention
        }
    }

    private static void Write(IReadOnlyList<StoreRunResult> results, string outputDirectory, DateTimeOffset started, TimeSpan duration, string durability)
    {
        Directory.CreateDirectory(outputDirectory);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# Coordinator stores, {started:yyyy-MM-dd HH:mm} UTC");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Whole global transactions (begin, 2 branches x 3 keys, commit, phase 2 done) per second, {duration.TotalSeconds:F0} s per configuration, " +
            $"{Environment.ProcessorCount} cores shared by PostgreSQL, every coordinator process and the clients; " +
            $"the embedded store flushes its log, and the shared store's PostgreSQL runs with {durability}.");
        report.AppendLine();
        report.AppendLine("| store | coordinators | clients | transactions | global tx/s | p99 to commit answer (ms) | coordinator CPU per tx (µs) | client CPU per tx (µs) | tx/s per coordinator core | PostgreSQL round trips per tx | PostgreSQL CPU per tx (µs) |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Store} | {r.Instances} | {r.Clients} | {r.Transactions} | {r.ThroughputPerSecond:F0} | {r.P99Ms:F1} | " +
                $"{r.CoordinatorCpuPerTransactionUs:F0} | {r.ClientCpuPerTransactionUs:F0} | {r.TransactionsPerCoordinatorCoreSecond:F0} | " +
                $"{(r.PostgresRequestsPerTransaction is { } trips ? trips.ToString("F1", CultureInfo.InvariantCulture) : "–")} | " +
                $"{(r.PostgresCpuPerTransactionUs is { } cpu ? cpu.ToString("F0", CultureInfo.InvariantCulture) : "–")} |");
        }
        report.AppendLine();
        report.AppendLine("CPU is the processes' user and system time over the measured run; tx/s per coordinator core is 1 s divided by the coordinator's CPU per transaction. " +
            "PostgreSQL round trips are the requests the server received on its connections over the run (kernel TCP counts, every coordinator's background sweeps included), " +
            "and its CPU is every process of the cluster's; both are for the shared store only.");
        var path = Path.Combine(outputDirectory, $"coordinator-stores-{started:yyyyMMdd-HHmmss}.md");
        File.WriteAllText(path, report.ToString());
        Console.WriteLine(report.ToString());
        Console.WriteLine($"Coordinator store report: {path}");
    }
}
