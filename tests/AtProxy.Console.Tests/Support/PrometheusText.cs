using System.Globalization;
using System.Text.RegularExpressions;

namespace AtProxy.Console.Tests.Support;

/// <summary>Reads values out of a Prometheus text exposition (what <c>/metrics</c> answers).</summary>
public static partial class PrometheusText
{
    /// <summary>
    /// The sum of the samples of <paramref name="metric"/> whose labels include all of
    /// <paramref name="labels"/>; 0 when there is none (a counter not yet incremented is not exported).
    /// </summary>
    public static double Sum(string exposition, string metric, params (string Name, string Value)[] labels)
    {
        var sum = 0.0;
        foreach (Match sample in SampleLine().Matches(exposition))
        {
            if (sample.Groups["name"].Value != metric)
            {
                continue;
            }
            var sampleLabels = LabelPair().Matches(sample.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            if (labels.All(l => sampleLabels.TryGetValue(l.Name, out var value) && value == l.Value))
            {
                sum += double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return sum;
    }

    /// <summary>Whether <paramref name="metric"/> has a sample at all.</summary>
    public static bool Has(string exposition, string metric) =>
        SampleLine().Matches(exposition).Any(m => m.Groups["name"].Value == metric);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[^ \n]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
