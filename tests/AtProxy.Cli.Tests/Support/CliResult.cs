using System.Text.Json;

namespace AtProxy.Cli.Tests.Support;

/// <summary>What one run of the CLI process produced.</summary>
public sealed record CliResult(string[] Arguments, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Standard output parsed as JSON (fails the test when it is not JSON).</summary>
    public JsonElement Json()
    {
        try
        {
            using var document = JsonDocument.Parse(StandardOutput);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"'atproxy {string.Join(' ', Arguments)}' did not write JSON ({ex.Message}):\n{StandardOutput}");
        }
    }

    /// <summary>The table rows (lines) whose first cell is <paramref name="firstCell"/>, top to bottom.</summary>
    public List<string> RowsOf(string firstCell) =>
        [.. StandardOutput.Split('\n').Where(line => line.TrimStart('│', ' ').StartsWith(firstCell + " ", StringComparison.Ordinal) && line.TrimStart().StartsWith('│'))];

    /// <summary>The one table row whose first cell is <paramref name="firstCell"/>, e.g. the "count" row of an undo table.</summary>
    public string RowOf(string firstCell)
    {
        var rows = RowsOf(firstCell);
        return rows.Count == 1 ? rows[0] : throw new Xunit.Sdk.XunitException($"{rows.Count} table rows start with '{firstCell}' in:\n{StandardOutput}");
    }

    public override string ToString() =>
        $"atproxy {string.Join(' ', Arguments)} → exit {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}
