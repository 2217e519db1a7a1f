using System.Text;

namespace AtProxy.Sql.Dialects;

/// <summary>
/// The canonical primary-key text of a global lock key (see <c>LockKey.primary_key</c> in
/// <c>common.proto</c>): each value's text form as the database prints it, composite keys joined
/// by ',' with ',' and '\' inside a value escaped by '\'. Images hold the same text forms, so the
/// same row always gives the same key, whichever image it was read from.
/// </summary>
internal static class LockKeyFormatter
{
    /// <summary>The canonical text of one key (text values in key-column order).</summary>
    public static string Format(IReadOnlyList<string> keyValues)
    {
        if (keyValues.Count == 1)
        {
            return Escape(keyValues[0]);
        }
        var builder = new StringBuilder();
        for (var i = 0; i < keyValues.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }
            builder.Append(Escape(keyValues[i]));
        }
        return builder.ToString();
    }

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
