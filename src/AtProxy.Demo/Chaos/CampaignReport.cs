using System.Text.Json;
using System.Text.Json.Serialization;

namespace AtProxy.Demo.Chaos;

/// <summary>A campaign's runs as JSON (<c>--report</c>), for scripts and the campaign's own test.</summary>
internal sealed record CampaignReport(int Seed, int Runs, int Violations, int Errors, IReadOnlyList<CampaignReport.Run> RunResults)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>One run, flattened.</summary>
    public sealed record Run(
        int Seed, StoreKind Store, string Point, FaultTarget Target, int Hit, bool Fired, int Transactions, int Committed, int RolledBack, int Failed,
        IReadOnlyList<string> Violations, double Seconds, string? Error);

    public static CampaignReport Of(int seed, IReadOnlyList<RunResult> results) => new(
        seed, results.Count, results.Sum(r => r.Violations.Count), results.Count(r => r.Error is not null),
        [.. results.Select(r => new Run(r.Plan.Seed, r.Plan.Store, r.Plan.Fault.Name, r.Plan.Target, r.Plan.Hit, r.Fired, r.Transactions, r.Committed,
            r.RolledBack, r.Failed, r.Violations, Math.Round(r.Elapsed.TotalSeconds, 1), r.Error))]);

    public async Task WriteAsync(string path)
    {
        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, this, Json);
    }
}
