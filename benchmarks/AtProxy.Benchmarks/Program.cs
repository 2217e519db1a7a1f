using BenchmarkDotNet.Running;

namespace AtProxy.Benchmarks;

/// <summary>dotnet run -c Release --project benchmarks/AtProxy.Benchmarks -- --filter '*'</summary>
public static class BenchmarkProgram
{
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(BenchmarkProgram).Assembly).Run(args);
}
