namespace AtProxy.Coordinator.Configuration;

/// <summary>
/// Checks the shape of the coordinator's command line before the configuration reads it.
/// Microsoft's command-line configuration silently skips a word with neither a <c>--</c> prefix
/// nor an <c>=</c>, and a switch at the end without its value; here each of them stops the start
/// instead, as does a setting outside the sections the coordinator reads.
/// </summary>
internal static class CommandLineArguments
{
    /// <summary>The top-level configuration keys the coordinator reads; anything else on the command line is a mistake.</summary>
    public static IReadOnlyList<string> KnownRoots { get; } = [CoordinatorOptions.SectionName, "Urls", "Logging", "Kestrel", "Environment"];

    /// <summary>The problems with <paramref name="args"/>, one line each naming the argument; empty when none.</summary>
    public static IReadOnlyList<string> Problems(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> switchMappings)
    {
        var problems = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var argument = args[i];
            var prefix = argument.StartsWith("--", StringComparison.Ordinal) ? 2 : argument.StartsWith('-') || argument.StartsWith('/') ? 1 : 0;
            var separator = argument.IndexOf('=', StringComparison.Ordinal);
            if (prefix == 0 && separator < 0)
            {
                problems.Add($"unexpected argument '{argument}': settings are given as --Name value or --Name=value (e.g. --Coordinator:AdminToken=...).");
                continue;
            }
            var written = separator < 0 ? argument : argument[..separator];
            string key;
            if (switchMappings.FirstOrDefault(m => string.Equals(m.Key, written, StringComparison.OrdinalIgnoreCase)) is { Key: not null } mapped)
            {
                key = mapped.Value;
            }
            else if (prefix == 1 && argument[0] == '-')
            {
                problems.Add($"unknown option '{written}' (long settings start with --; the short switches are {string.Join(", ", switchMappings.Keys)}).");
                SkipValue(args, ref i, separator);
                continue;
            }
            else
            {
                key = written[prefix..];
            }
            if (!KnownRoots.Contains(key.Split(':')[0], StringComparer.OrdinalIgnoreCase))
            {
                var known = KnownRoots.Select(root => root == CoordinatorOptions.SectionName ? root + ":*" : root);
                problems.Add($"unknown setting {written} (the coordinator reads {string.Join(", ", known)} and the switches {string.Join(", ", switchMappings.Keys)}).");
                SkipValue(args, ref i, separator);
                continue;
            }

            if (separator < 0)
            {
                if (i + 1 >= args.Count)
                {
                    problems.Add($"{written} has no value.");
                    continue;
                }
                var value = args[++i];
                if (value.StartsWith("--", StringComparison.Ordinal))
                {
                    problems.Add($"{written} has no value (the word after it, {value}, is a setting of its own).");
                    i--;
                    continue;
                }
                if (string.Equals(key, CoordinatorOptions.SectionName, StringComparison.OrdinalIgnoreCase))
                {
                    // What PowerShell makes of --Coordinator:AdminToken=x when it binds a script's parameters.
                    // The value is not repeated: it may be a token.
                    var name = value.Split('=')[0];
                    problems.Add($"{written} {name}=... names no setting; write it as one word: --Coordinator:{name}=...");
                    continue;
                }
            }
            if (string.Equals(key, CoordinatorOptions.SectionName, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{written} names no setting; write --Coordinator:Name=value.");
            }
        }
        return problems;
    }

    private static void SkipValue(IReadOnlyList<string> args, ref int i, int separator)
    {
        if (separator < 0 && i + 1 < args.Count && !args[i + 1].StartsWith('-'))
        {
            i++;
        }
    }
}
