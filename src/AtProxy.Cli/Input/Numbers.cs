using System.CommandLine.Parsing;
using System.Globalization;

namespace AtProxy.Cli.Input;

/// <summary>Numeric options and arguments parsed with a message that names the allowed range (a parse error, so exit 2).</summary>
internal static class Numbers
{
    public static int Parse(ArgumentResult result, string name, int min, int max)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        result.AddError($"{name} must be {min}..{max} (got '{text}').");
        return min;
    }

    public static long BranchId(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            return value;
        }
        result.AddError($"'{text}' is not a branch id; BRANCH must be a positive number, as 'atproxy tx show XID' lists it.");
        return 0;
    }
}
