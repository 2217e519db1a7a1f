using System.Collections.Concurrent;
using System.Diagnostics;
using AtProxy.Protocol.V1;
using Dapper;
using Grpc.Core;
using Xunit.Abstractions;

namespace AtProxy.IntegrationTests.UndoImages;

/// <summary>
/// Undo images are read over the same streams that carry phase 2: reading them while global
/// transactions commit and roll back must change no outcome, hold up no phase-2 command, and leave
/// nothing behind.
/// </summary>
public class UndoImagesUnderLoadTests(OrderInventoryEnvironment env, ITestOutputHelper output) : IClassFixture<OrderInventoryEnvironment>
{
    private const int Workers = 8;
    private const int TransactionsPerRun = 160;
    private static readonly string[] Skus = [.. Enumerable.Range(1, 8).Select(i => $"undo-load-{i}")];

    [Fact]
    public async Task Undo_reads_during_eight_workers_of_commits_and_rollbacks_change_no_outcome_and_do_not_hold_up_phase_two()
    {
        await env.SeedStockAsync(Skus);
        // A first run warms up connections, JIT and caches, so neither measured run pays for it.
        var warmUp = await RunAsync(readUndo: false, TransactionsPerRun / 4);
        var quiet = await RunAsync(readUndo: false, TransactionsPerRun);
        var read = await RunAsync(readUndo: true, TransactionsPerRun);
        output.WriteLine($"without undo reads: {quiet}");
        output.WriteLine($"with undo reads:    {read}");

        await env.WaitForQuiescenceAsync(TimeSpan.FromSeconds(60));
        await env.AssertStockMatchesOrdersAsync(Skus, warmUp.Committed + quiet.Committed + read.Committed);
        Assert.Equal(0, await env.UnfinishedTransactionCountAsync());
        Assert.True(read.Committed > 0 && read.RolledBack > 0, read.ToString());
        // Each transaction of the second run read its own branch's images before deciding, and a
        // background reader asked for every open branch it could find: none failed.
        Assert.True(read.ImagesRead >= read.Committed + read.RolledBack, read.ToString());
        Assert.Empty(read.Errors);
        // A slow undo read must not stall the phase-2 commands on the same stream: deciding takes
        // about as long as without readers (generous bounds: the machine is shared).
        Assert.True(read.DecideP95 <= quiet.DecideP95 * 3 + TimeSpan.FromMilliseconds(300),
            $"deciding took {read.DecideP95.TotalMilliseconds:0} ms (p95) with undo reads, {quiet.DecideP95.TotalMilliseconds:0} ms without");
    }

    private sealed record RunResult(int Committed, int RolledBack, int ImagesRead, int BackgroundReads, TimeSpan DecideP50, TimeSpan DecideP95, IReadOnlyCollection<string> Errors)
    {
        public override string ToString() =>
            $"{Committed} committed, {RolledBack} rolled back, {ImagesRead} own images read, {BackgroundReads} background reads, " +
            $"decide p50 {DecideP50.TotalMilliseconds:0} ms p95 {DecideP95.TotalMilliseconds:0} ms, errors: {string.Join("; ", Errors.Take(3))}";
    }

    private async Task<RunResult> RunAsync(bool readUndo, int transactions)
    {
        var next = -1;
        int committed = 0, rolledBack = 0, imagesRead = 0, backgroundReads = 0;
        var decideTimes = new ConcurrentBag<TimeSpan>();
        var errors = new ConcurrentQueue<string>();
        using var stopReading = new CancellationTokenSource();

        async Task Worker(int worker)
        {
            var random = new Random(worker * 7919 + (readUndo ? 1 : 0));
            while (Interlocked.Increment(ref next) < transactions)
            {
                var sku = Skus[random.Next(Skus.Length)];
                var commit = random.NextDouble() < 0.6;
                try
                {
                    await using var gtx = await env.Client.BeginAsync("undo-load", TimeSpan.FromSeconds(30));
                    await using (var orders = await env.Orders.OpenConnectionAsync())
                    {
                        await orders.ExecuteAsync("INSERT INTO orders (sku, qty) VALUES (@sku, 1)", new { sku });
                    }
                    await using (var inventory = await env.Inventory.OpenConnectionAsync())
                    {
                        Assert.Equal(1, await inventory.ExecuteAsync("UPDATE stock SET count = count - 1, sold = sold + 1 WHERE sku = @sku", new { sku }));
                    }
                    if (readUndo)
                    {
                        await ReadOwnImagesAsync(gtx.Xid, sku);
                        Interlocked.Increment(ref imagesRead);
                    }
                    var deciding = Stopwatch.StartNew();
                    if (commit)
                    {
                        await gtx.CommitAsync();
                        Interlocked.Increment(ref committed);
                    }
                    else
                    {
                        await gtx.RollbackAsync();
                        Interlocked.Increment(ref rolledBack);
                    }
                    decideTimes.Add(deciding.Elapsed);
                }
                catch (GlobalLockConflictException)
                {
                    Interlocked.Increment(ref rolledBack); // disposed without a decision: rolled back
                }
            }
        }

        // Every branch of every open transaction, asked again and again while the workers run.
        async Task BackgroundReader()
        {
            while (!stopReading.IsCancellationRequested)
            {
                var open = await env.Admin.ListTransactionsAsync(new ListTransactionsRequest { Statuses = { GlobalStatus.Begin }, PageSize = 100 });
                foreach (var branch in open.Transactions.SelectMany(t => t.Branches.Select(b => (t.Xid, b.BranchId))))
                {
                    try
                    {
                        await env.Admin.GetBranchUndoAsync(new GetBranchUndoRequest { Xid = branch.Xid, BranchId = branch.BranchId }, deadline: DateTime.UtcNow.AddSeconds(15));
                        Interlocked.Increment(ref backgroundReads);
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                    {
                        // Ended and forgotten meanwhile.
                    }
                    catch (RpcException ex)
                    {
                        errors.Enqueue($"background read of branch {branch.BranchId} of {branch.Xid}: {ex.StatusCode} {ex.Status.Detail}");
                    }
                }
            }
        }

        var readers = readUndo ? Task.Run(BackgroundReader) : Task.CompletedTask;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w))));
        }
        finally
        {
            await stopReading.CancelAsync();
            await readers;
        }
        var sorted = decideTimes.Order().ToList();
        return new RunResult(committed, rolledBack, imagesRead, backgroundReads,
            sorted[sorted.Count / 2], sorted[Math.Min(sorted.Count - 1, sorted.Count * 95 / 100)], errors);
    }

    // The inventory branch's images while the transaction holds its global lock: the row is exactly as
    // phase 1 left it (nobody else may write it), one less than before.
    private async Task ReadOwnImagesAsync(string xid, string sku)
    {
        var branch = Assert.Single((await env.GetTransactionAsync(xid)).Transaction.Branches, b => b.ResourceId == env.InventoryResourceId);
        var images = await env.Admin.GetBranchUndoAsync(new GetBranchUndoRequest { Xid = xid, BranchId = branch.BranchId }, deadline: DateTime.UtcNow.AddSeconds(15));
        Assert.True(images.UndoFound);
        var row = Assert.Single(images.Rows);
        Assert.Equal([sku], row.PrimaryKey);
        Assert.False(row.Dirty);
        var count = Assert.Single(row.Cells, c => c.Column == "count");
        Assert.Equal(long.Parse(count.Before.Text, System.Globalization.CultureInfo.InvariantCulture) - 1, long.Parse(count.After.Text, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(count.After.Text, count.Current.Text);
    }
}
