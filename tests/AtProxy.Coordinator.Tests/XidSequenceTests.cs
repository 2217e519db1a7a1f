using System.Globalization;
using AtProxy.Coordinator.Storage;
using AtProxy.Coordinator.Storage.Postgres;
using AtProxy.Testing.Coordinator;
using Xunit.Abstractions;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// XIDs across restarts of the real coordinator process: always increasing and never handed out
/// twice, also after SIGKILL, and compact: a crash skips at most one reservation block, a clean
/// restart of the embedded store none.
/// </summary>
public class XidSequenceTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(DurableStores.All), MemberType = typeof(DurableStores))]
    public async Task Sigkill_between_bursts_of_begins_xids_increase_are_unique_and_skip_at_most_one_block(string store)
    {
        var (options, database) = await DurableStores.ProcessOptionsAsync(store);
        await using var dropped = database;
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
        var block = store == "postgres" ? PostgresIdBlock.BlockSize : CoordinatorStoreBase.SequenceReservation;

        var sequences = new List<long>();
        var gaps = new List<long>();
        for (var crash = 0; crash < 3; crash++)
        {
            // Concurrent begins, so some are answered while their record (and the next reservation) is still being written.
            var burst = await Task.WhenAll(Enumerable.Range(0, 150).Select(_ => tm.BeginAsync(timeoutMs: 600_000)));
            var numbers = burst.Select(SequenceOf).Order().ToList();
            if (sequences.Count > 0)
            {
                gaps.Add(numbers[0] - sequences[^1]);
            }
            sequences.AddRange(numbers);
            coordinator.Kill();
            await coordinator.RestartAsync();
        }
        var after = SequenceOf(await tm.BeginAsync());
        gaps.Add(after - sequences[^1]);
        sequences.Add(after);

        output.WriteLine($"{store}: XID gaps across SIGKILL restarts: {string.Join(", ", gaps)} (block {block})");
        Assert.Equal(sequences.Count, sequences.Distinct().Count());
        Assert.All(gaps, gap => Assert.InRange(gap, 1, block + 1));
    }

    [Fact]
    public async Task Graceful_restart_of_the_embedded_store_continues_with_the_next_xid()
    {
        await using var coordinator = await CoordinatorProcess.StartAsync(new CoordinatorProcessOptions { Store = "embedded" });
        var tm = new TransactionManager.TransactionManagerClient(coordinator.Channel);
        var last = 0L;
        for (var i = 0; i < 30; i++)
        {
            last = SequenceOf(await tm.BeginAsync(timeoutMs: 600_000));
        }

        await coordinator.StopAsync();
        await coordinator.RestartAsync();
        var next = SequenceOf(await tm.BeginAsync());

        Assert.Equal(last + 1, next);
    }

    private static long SequenceOf(string xid) => long.Parse(xid[(xid.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
}
