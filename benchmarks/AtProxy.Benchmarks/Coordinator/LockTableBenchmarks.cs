using AtProxy.Coordinator.Locking;
using BenchmarkDotNet.Attributes;

namespace AtProxy.Benchmarks.Coordinator;

/// <summary>
/// The lock manager on one thread: acquire then release a branch of 5 keys. One operation is
/// one branch, so keys per second are 5 × the reported operations per second.
/// </summary>
[Config(typeof(CoordinatorBenchmarkConfig))]
public class LockTableBenchmarks
{
    private const int Branches = 4096;
    private const int KeysPerBranch = 5;
    private readonly LockTable _table = new();
    private LockKeyId[][] _keys = [];
    private LockHolder[] _holders = [];

    [GlobalSetup]
    public void Setup()
    {
        _keys = new LockKeyId[Branches][];
        _holders = new LockHolder[Branches];
        for (var b = 0; b < Branches; b++)
        {
            _keys[b] = new LockKeyId[KeysPerBranch];
            for (var k = 0; k < KeysPerBranch; k++)
            {
                _keys[b][k] = new LockKeyId("orders-db", "public.order_line", $"{b * KeysPerBranch + k}");
            }
            _holders[b] = new LockHolder($"tc:{b + 1}", b + 1, "orders", 0);
        }
        // Keep 10,000 other keys held, as a busy coordinator would.
        var background = Enumerable.Range(0, 10_000).Select(i => new LockKeyId("stock-db", "public.stock", $"sku-{i}")).ToArray();
        _table.TryAcquire(background, new LockHolder("tc:0", 0, "stock", 0));
    }

    [Benchmark(OperationsPerInvoke = Branches, Description = "acquire+release a 5-key branch")]
    public int AcquireAndRelease()
    {
        var granted = 0;
        for (var b = 0; b < Branches; b++)
        {
            if (_table.TryAcquire(_keys[b], _holders[b]) is null)
            {
                granted++;
            }
            _table.ReleaseTransaction(_keys[b], _holders[b].Xid);
        }
        return granted;
    }
}
