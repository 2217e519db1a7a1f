using System.Globalization;
using System.Text;

namespace AtProxy.Sql.Dialects;

/// <summary>
/// The canonical primary-key text of a global lock key (see <c>LockKey.primary_key</c> in
/// <c>common.proto</c>): each value as invariant text, composite keys joined by ',' with ','
/// and '\' inside a value escaped by '\'. The same value always gives the same text, whichever
/// image it was read from.
/// </summary>
internal static class LockKeyFormatter
{
    /// <summary>The canonical text of one key (values in key-column order).</summary>
    public static string Format(IReadOnlyList<object?> keyValues)
    {
        if (keyValues.Count == 1)
        {
            return Escape(ValueText(keyValues[0]));
        }
        var builder = new StringBuilder();
        for (var i = 0; i < keyValues.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }
            builder.Append(Escape(ValueText(keyValues[i])));
        }
        return builder.ToString();
    }

    /// <summary>One key value as invariant text.</summary>
    public static string ValueText(object? value) => value switch
    {
        null or DBNull => throw new ArgumentException("A primary-key value cannot be NULL.", nameof(value)),
        string s => s,
        bool b => b ? "true" : "false",
        DateTime d => d.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeOnly t => t.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture),
        Guid g => g.ToString("D"),
        byte[] bytes => "\\x" + Convert.ToHexStringLower(bytes),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static string Escape(string value)
    {
        if (value.AsSpan().IndexOfAny(',', '\\') < 0)
        {
            return value;
        }
        var builder = new StringBuilder(value.Length + 4);
        foreach (var c in value)
        {
            if (c is ',' or '\\')
            {
                builder.Append('\\');
            }
            builder.Append(c);
        }
        return builder.ToString();
    }
}
