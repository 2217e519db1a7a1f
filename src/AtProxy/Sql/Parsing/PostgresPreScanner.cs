namespace AtProxy.Sql.Parsing;

/// <summary>
/// The character-level half of masking: PostgreSQL lexical forms the T-SQL lexer would
/// misread are rewritten in place, same length, before ScriptDom tokenizes the text.
/// E'...' strings (backslash escapes) and $tag$...$tag$ strings become plain '...' strings,
/// and array brackets become parentheses (T-SQL reads [..] as a quoted identifier).
/// Comments, standard strings and quoted identifiers are skipped so their contents never count.
/// </summary>
internal static class PostgresPreScanner
{
    /// <summary>
    /// Returns <paramref name="text"/> with those forms rewritten, or the same instance when there were none,
    /// and adds what it rewrote to <paramref name="masks"/>.
    /// </summary>
    public static string Rewrite(string text, List<MaskedConstruct> masks)
    {
        char[]? chars = null;
        var brackets = new Stack<int>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            switch (c)
            {
                case '-' when At(text, i + 1) == '-':
                    i = SkipLineComment(text, i);
                    continue;
                case '/' when At(text, i + 1) == '*':
                    i = SkipBlockComment(text, i);
                    continue;
                case '\'':
                    i = SkipQuoted(text, i, '\'', backslashEscapes: false);
                    continue;
                case '"':
                    i = SkipQuoted(text, i, '"', backslashEscapes: false);
                    continue;
                case 'E' or 'e' when At(text, i + 1) == '\'' && !IsIdentifierChar(At(text, i - 1)):
                {
                    var end = SkipQuoted(text, i + 1, '\'', backslashEscapes: true);
                    chars ??= text.ToCharArray();
                    chars[i] = ' ';
                    BlankInside(chars, i + 2, end - 1);
                    masks.Add(new MaskedConstruct(MaskKind.StringLiteral, TextSpan.FromBounds(i, end)));
                    i = end;
                    continue;
                }
                case 'B' or 'b' or 'X' or 'x' when At(text, i + 1) == '\'' && !IsIdentifierChar(At(text, i - 1)):
                {
                    // Bit-string constants: the prefix goes, the quoted digits stay a plain string.
                    var end = SkipQuoted(text, i + 1, '\'', backslashEscapes: false);
                    chars ??= text.ToCharArray();
                    chars[i] = ' ';
                    masks.Add(new MaskedConstruct(MaskKind.StringLiteral, TextSpan.FromBounds(i, end)));
                    i = end;
                    continue;
                }
                case '$' when !IsIdentifierChar(At(text, i - 1)) && TryReadDollarTag(text, i, out var tagLength):
                {
                    var close = text.IndexOf(text.Substring(i, tagLength), i + tagLength, StringComparison.Ordinal);
                    if (close < 0)
                    {
                        return chars is null ? text : new string(chars); // unterminated: let the lexer report it
                    }
                    var end = close + tagLength;
                    chars ??= text.ToCharArray();
                    chars[i] = '\'';
                    BlankInside(chars, i + 1, end - 1);
                    chars[end - 1] = '\'';
                    masks.Add(new MaskedConstruct(MaskKind.StringLiteral, TextSpan.FromBounds(i, end)));
                    i = end;
                    continue;
                }
                case '?':
                    // jsonb's ?, ?| and ?& operators: a character T-SQL cannot even tokenize.
                    chars ??= text.ToCharArray();
                    chars[i] = '~';
                    masks.Add(new MaskedConstruct(MaskKind.Operator, new TextSpan(i, 1)));
                    break;
                case '[':
                    chars ??= text.ToCharArray();
                    chars[i] = '(';
                    brackets.Push(i);
                    break;
                case ']':
                    chars ??= text.ToCharArray();
                    chars[i] = ')';
                    if (brackets.Count > 0)
                    {
                        masks.Add(new MaskedConstruct(MaskKind.ArrayBrackets, TextSpan.FromBounds(brackets.Pop(), i + 1)));
                    }
                    break;
            }
            i++;
        }
        return chars is null ? text : new string(chars);
    }

    private static char At(string text, int index) => index >= 0 && index < text.Length ? text[index] : '\0';

    private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';

    private static int SkipLineComment(string text, int i)
    {
        var end = text.IndexOf('\n', i);
        return end < 0 ? text.Length : end + 1;
    }

    // PostgreSQL block comments nest.
    private static int SkipBlockComment(string text, int i)
    {
        var depth = 0;
        while (i < text.Length)
        {
            if (text[i] == '/' && At(text, i + 1) == '*')
            {
                depth++;
                i += 2;
            }
            else if (text[i] == '*' && At(text, i + 1) == '/')
            {
                depth--;
                i += 2;
                if (depth == 0)
                {
                    return i;
                }
            }
            else
            {
                i++;
            }
        }
        return text.Length;
    }

    // Returns the offset just past the closing quote (doubled quotes are escapes).
    private static int SkipQuoted(string text, int open, char quote, bool backslashEscapes)
    {
        var i = open + 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (backslashEscapes && c == '\\')
            {
                i += 2;
                continue;
            }
            if (c == quote)
            {
                if (At(text, i + 1) == quote)
                {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return text.Length;
    }

    // $$ or $tag$ where tag is an identifier; $1 is a parameter, not a tag.
    private static bool TryReadDollarTag(string text, int i, out int length)
    {
        length = 0;
        var j = i + 1;
        if (j < text.Length && char.IsDigit(text[j]))
        {
            return false;
        }
        while (j < text.Length && (char.IsLetterOrDigit(text[j]) || text[j] == '_'))
        {
            j++;
        }
        if (j < text.Length && text[j] == '$')
        {
            length = j - i + 1;
            return true;
        }
        return false;
    }

    // Blanks a literal's contents so the T-SQL lexer sees a harmless string; newlines stay so
    // line numbers of later tokens are unchanged.
    private static void BlankInside(char[] chars, int from, int to)
    {
        for (var k = from; k < to && k < chars.Length; k++)
        {
            if (chars[k] is not '\n' and not '\r')
            {
                chars[k] = ' ';
            }
        }
    }
}
