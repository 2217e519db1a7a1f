using System.Collections;
using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace AtProxy.Coordinator.Configuration;

/// <summary>
/// Refuses what the coordinator would otherwise ignore or misread: a key under <c>Coordinator</c>
/// that is no property of <see cref="CoordinatorOptions"/> (a typo, a setting of another version)
/// and a value the binder cannot convert. It reads the options class itself, so a property added
/// there is accepted without a change here. Each problem is one line naming the setting and where
/// it came from (the command line, an environment variable, appsettings.json).
/// </summary>
internal static class CoordinatorSettingsCheck
{
    /// <summary>The problems with the <c>Coordinator</c> section of <paramref name="configuration"/>; empty when none.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        var problems = new List<string>();
        CheckSection(configuration.GetSection(CoordinatorOptions.SectionName), typeof(CoordinatorOptions), configuration, problems);
        return problems;
    }

    private static void CheckSection(IConfigurationSection section, Type type, IConfiguration root, List<string> problems)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            // A read-only value cannot be set; a read-only group or list is bound into.
            if (!properties.TryGetValue(child.Key, out var property) || (!property.CanWrite && IsScalar(property.PropertyType)))
            {
                problems.Add($"{child.Path}{SourceOf(child.Path, root)} is not a setting of the coordinator{Suggestion(child.Key, properties.Keys)}");
                continue;
            }
            var valueType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsScalar(valueType))
            {
                if (child.GetChildren().FirstOrDefault() is { } nested)
                {
                    problems.Add($"{nested.Path}{SourceOf(nested.Path, root)} is not a setting of the coordinator ({child.Path} is a single value).");
                }
                else if (!string.IsNullOrEmpty(child.Value) && !Converts(valueType, child.Value))
                {
                    problems.Add($"{child.Path}{SourceOf(child.Path, root)} is '{child.Value}', which is not {Expected(valueType)}.");
                }
            }
            else if (!typeof(IEnumerable).IsAssignableFrom(valueType))
            {
                // A group of settings of its own: the same rules one level down. (Lists and maps take any key.)
                CheckSection(child, valueType, root, problems);
            }
        }
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Uri) || type == typeof(Guid);
    }

    /// <summary>The binder converts with the type's <see cref="TypeConverter"/> in the invariant culture; so does this check.</summary>
    private static bool Converts(Type type, string value)
    {
        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException || ex.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Expected(Type type) => type switch
    {
        _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type))}",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(int) => "a whole number",
        _ when type == typeof(uint) => "a whole number of at least 0",
        _ when type == typeof(long) => "a whole number",
        _ when type == typeof(TimeSpan) => "a duration such as 00:00:30",
        _ => $"a valid {type.Name}",
    };

    /// <summary>Where the value that wins came from: the last source that has the key.</summary>
    private static string SourceOf(string path, IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return "";
        }
        foreach (var provider in root.Providers.Reverse())
        {
            if (!provider.TryGet(path, out _) && !provider.GetChildKeys([], path).Any())
            {
                continue;
            }
            return provider switch
            {
                CommandLineConfigurationProvider => " (command line)",
                EnvironmentVariablesConfigurationProvider => EnvironmentVariableOf(path) is { } name ? $" (environment variable {name})" : " (environment)",
                FileConfigurationProvider file => $" ({file.Source.FileProvider?.GetFileInfo(file.Source.Path ?? "").PhysicalPath ?? file.Source.Path})",
                _ => "",
            };
        }
        return "";
    }

    private static string? EnvironmentVariableOf(string path)
    {
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            var name = (string)variable.Key;
            foreach (var prefix in (string[])["ATPROXY_", ""])
            {
                if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) &&
                    (string.Equals(name[prefix.Length..].Replace("__", ":", StringComparison.Ordinal), path, StringComparison.OrdinalIgnoreCase)
                     || name[prefix.Length..].Replace("__", ":", StringComparison.Ordinal).StartsWith(path + ":", StringComparison.OrdinalIgnoreCase)))
                {
                    return name;
                }
            }
        }
        return null;
    }

    /// <summary>The known name a mistyped one was probably meant to be: the one it begins, or one at most a third of its letters away.</summary>
    private static string Suggestion(string written, IEnumerable<string> known)
    {
        if (known.Where(name => name.StartsWith(written, StringComparison.OrdinalIgnoreCase)).ToList() is [var completed])
        {
            return $"; did you mean {completed}?";
        }
        var best = known.Select(name => (name, distance: EditDistance(written.ToUpperInvariant(), name.ToUpperInvariant())))
            .OrderBy(x => x.distance).FirstOrDefault();
        return best.name is not null && best.distance <= Math.Max(1, written.Length / 3) ? $"; did you mean {best.name}?" : ".";
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
