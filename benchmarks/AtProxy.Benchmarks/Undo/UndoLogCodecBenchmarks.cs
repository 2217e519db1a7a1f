using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using BenchmarkDotNet.Attributes;

namespace AtProxy.Benchmarks.Undo;

/// <summary>
/// What one updated row costs in the undo log, without the database: encoding a branch's undo
/// records into <c>rollback_info</c> at local commit, and decoding them again for a rollback. The
/// branch is one UPDATE of <see cref="Rows"/> rows of <see cref="RepresentativeTable"/> (a before and
/// an after image each). Every invocation handles <see cref="RowsPerInvoke"/> rows in all (100 logs
/// of 1 row, 10 of 10, or 1 of 100), so the mean and the allocations are per row and the row
/// counts compare directly. <see cref="Gzip"/> puts the log below (plain protobuf) or above
/// (gzip) the compression threshold whatever its size; the sizes are printed at setup.
/// </summary>
[MemoryDiagnoser]
public class UndoLogCodecBenchmarks
{
    private const int RowsPerInvoke = 100;
    private BranchUndoLog _log = null!;
    private byte[] _encoded = [];
    private string _context = "";
    private int _threshold;

    [Params(1, 10, 100)]
    public int Rows { get; set; }

    [Params(false, true)]
    public bool Gzip { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _log = RepresentativeTable.UpdateLog(Rows);
        _threshold = Gzip ? 0 : int.MaxValue;
        (_encoded, _context) = UndoLogCodec.Encode(_log, _threshold);
        var plain = UndoLogCodec.Encode(_log, int.MaxValue).Bytes.Length;
        Console.WriteLine($"// undo log of {Rows} row(s): {plain} bytes plain ({plain / Rows} per row), {UndoLogCodec.Encode(_log, 0).Bytes.Length} gzipped; default threshold {new AtProxyOptions().UndoCompressionThreshold}");
    }

    [Benchmark(OperationsPerInvoke = RowsPerInvoke, Description = "encode, per row")]
    public int Encode()
    {
        var length = 0;
        for (var i = 0; i < RowsPerInvoke / Rows; i++)
        {
            length += UndoLogCodec.Encode(_log, _threshold).Bytes.Length;
        }
        return length;
    }

    [Benchmark(OperationsPerInvoke = RowsPerInvoke, Description = "decode, per row")]
    public int Decode()
    {
        var records = 0;
        for (var i = 0; i < RowsPerInvoke / Rows; i++)
        {
            records += UndoLogCodec.TryDecode(_encoded, _context, out var log, out var problem)
                ? log.Records.Count
                : throw new InvalidOperationException(problem);
        }
        return records;
    }
}
