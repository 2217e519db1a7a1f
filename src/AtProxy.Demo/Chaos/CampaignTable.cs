using System.Globalization;
using Spectre.Console;

namespace AtProxy.Demo.Chaos;

/// <summary>The campaign's summary: one row per fault point (and store), then the totals.</summary>
internal static class CampaignTable
{
    public static void Write(IReadOnlyList<RunResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("fault point", "store", "runs", "fired", "transactions", "committed", "rolled back", "failed", "violations", "errors", "s/run");
        foreach (var column in table.Columns.Skip(2))
        {
            column.RightAligned();
        }
        var groups = results.GroupBy(r => (r.Plan.Fault.Name, r.Plan.Store))
            .OrderBy(g => FaultPoint.All.ToList().FindIndex(p => p.Name == g.Key.Name)).ThenBy(g => g.Key.Store);
        foreach (var group in groups)
        {
            table.AddRow(Row(group.Key.Name, group.Key.Store.ToString().ToLowerInvariant(), [.. group]));
        }
        table.AddEmptyRow();
        table.AddRow(Row("all", "", results));
        AnsiConsole.Write(table);
    }

    private static string[] Row(string point, string store, IReadOnlyList<RunResult> runs)
    {
        var violations = runs.Sum(r => r.Violations.Count);
        return
        [
            Markup.Escape(point), store, N(runs.Count), N(runs.Count(r => r.Fired)), N(runs.Sum(r => r.Transactions)), N(runs.Sum(r => r.Committed)),
            N(runs.Sum(r => r.RolledBack)), N(runs.Sum(r => r.Failed)), violations == 0 ? "0" : $"[red]{N(violations)}[/]",
            N(runs.Count(r => r.Error is not null)),
            runs.Count == 0 ? "" : runs.Average(r => r.Elapsed.TotalSeconds).ToString("0.0", CultureInfo.InvariantCulture),
        ];
    }

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
}
