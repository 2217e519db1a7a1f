using System.Text.Json;
using System.Text.Json.Serialization;

namespace AtProxy.Demo.Scenario;

/// <summary>The run's result as JSON (<c>--report</c>), for scripts and the demo's own test.</summary>
internal sealed record RunReport(
    bool UseAtProxy, int Orders, double Seconds, IReadOnlyDictionary<string, int> Outcomes, bool Consistent, ConsistencyReport Check)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Writes the report to <paramref name="path"/>.</summary>
    public async Task WriteAsync(string path)
    {
        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, this, Json);
    }
}
