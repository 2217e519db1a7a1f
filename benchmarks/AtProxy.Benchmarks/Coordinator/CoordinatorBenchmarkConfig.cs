using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace AtProxy.Benchmarks.Coordinator;

/// <summary>
/// A short in-process job (the machine is small and shared): a few warm-ups and measured
/// iterations, operations per second shown, allocations counted.
/// </summary>
public sealed class CoordinatorBenchmarkConfig : ManualConfig
{
    public CoordinatorBenchmarkConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(2).WithIterationCount(5));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.OperationsPerSecond);
        // Results go beside the project (ignored by git), wherever the run was started from.
        ArtifactsPath = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "BenchmarkDotNet.Artifacts"));
    }
}
