using System.Text;

namespace AtProxy.Protocol.Undo;

/// <summary>
/// Splits a record's text form, as PostgreSQL's <c>record_out</c> prints it, into its fields'
/// texts: <c>(1,,"a ""b"", c","")</c> is <c>1</c>, NULL, <c>a "b", c</c> and the empty string.
/// Undo records of format version 2 are read this way (see <see cref="UndoValueText"/>).
/// </summary>
public static class RecordText
{
    /// <summary>The fields of <paramref name="text"/>, null for SQL NULL.</summary>
    /// <exception cref="FormatException">The text is not a record of <paramref name="expectedCount"/> fields.</exception>
    public static string?[] Split(string text, int expectedCount)
    {
        if (text.Length < 2 || text[0] != '(' || text[^1] != ')')
        {
            throw new FormatException($"A row image is not a record: \"{Shorten(text)}\".");
        }
        var fields = new List<string?>(expectedCount);
        var value = new StringBuilder();
        var position = 1;
        var end = text.Length - 1;
        while (true)
        {
            // One field: empty and unquoted is NULL; quotes may start and stop anywhere within it.
            value.Clear();
            var quotedOrEscaped = false;
            var inQuotes = false;
            for (; position < end; position++)
            {
                var c = text[position];
                if (inQuotes)
                {
                    if (c == '\\' && position + 1 < end)
                    {
                        value.Append(text[++position]);
                    }
                    else if (c == '"' && position + 1 < end && text[position + 1] == '"')
                    {
                        value.Append('"');
                        position++;
                    }
                    else if (c == '"')
                    {
                        inQuotes = false;
                    }
                    else
                    {
                        value.Append(c);
                    }
                }
                else if (c == ',')
                {
                    break;
                }
                else if (c == '"')
                {
                    inQuotes = true;
                    quotedOrEscaped = true;
                }
                else if (c == '\\' && position + 1 < end)
                {
                    value.Append(text[++position]);
                    quotedOrEscaped = true;
                }
                else
                {
                    value.Append(c);
                }
            }
            if (inQuotes)
            {
                throw new FormatException($"A row image ends inside a quoted value: \"{Shorten(text)}\".");
            }
            fields.Add(value.Length == 0 && !quotedOrEscaped ? null : value.ToString());
            if (position >= end)
            {
                break;
            }
            position++; // the comma
        }
        if (fields.Count != expectedCount)
        {
            throw new FormatException($"A row image has {fields.Count} values where {expectedCount} were expected (has the table changed?).");
        }
        return fields.ToArray();
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
