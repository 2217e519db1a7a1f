using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// One statement's slice of ScriptDom's token stream, with a view of its significant tokens
/// (no whitespace or comments) and their parenthesis depth. The masking pass edits the tokens
/// in place or removes them; their offsets always stay those of the original text.
/// </summary>
internal sealed class StatementTokens
{
    private readonly List<TSqlParserToken> _all;
    private readonly bool[] _removed;
    private readonly bool[] _inline;
    private readonly int[] _significant;
    private readonly int[] _depth;
    private Dictionary<int, int>? _originalLengths;
    private Dictionary<int, TSqlParserToken[]>? _insertions;

    /// <summary>Wraps <paramref name="tokens"/> (whitespace and comments included, no terminating semicolon).</summary>
    public StatementTokens(string commandText, List<TSqlParserToken> tokens)
    {
        CommandText = commandText;
        _all = tokens;
        _removed = new bool[tokens.Count];
        _inline = new bool[tokens.Count];
        var significant = new List<int>(tokens.Count);
        var depths = new List<int>(tokens.Count);
        var depth = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            var type = tokens[i].TokenType;
            if (type is TSqlTokenType.WhiteSpace or TSqlTokenType.SingleLineComment or TSqlTokenType.MultilineComment or TSqlTokenType.EndOfFile)
            {
                continue;
            }
            if (type == TSqlTokenType.RightParenthesis)
            {
                depth--;
                IsUnbalanced |= depth < 0;
            }
            significant.Add(i);
            depths.Add(depth);
            if (type == TSqlTokenType.LeftParenthesis)
            {
                depth++;
            }
        }
        _significant = [.. significant];
        _depth = [.. depths];
        IsUnbalanced |= depth != 0;
    }

    /// <summary>Whether a parenthesis is closed that was never opened, or one is left open.</summary>
    public bool IsUnbalanced { get; }

    /// <summary>The whole original command text.</summary>
    public string CommandText { get; }

    /// <summary>How many significant tokens the statement has.</summary>
    public int Count => _significant.Length;

    /// <summary>The significant token <paramref name="k"/>.</summary>
    public TSqlParserToken this[int k] => _all[_significant[k]];

    /// <summary>The token type of significant token <paramref name="k"/>, or EndOfFile past the end.</summary>
    public TSqlTokenType Type(int k) => k >= 0 && k < Count ? this[k].TokenType : TSqlTokenType.EndOfFile;

    /// <summary>Parenthesis depth of significant token <paramref name="k"/> within the statement (0 at top level).</summary>
    public int Depth(int k) => _depth[k];

    /// <summary>Offset of significant token <paramref name="k"/> in the command text.</summary>
    public int Start(int k) => this[k].Offset;

    /// <summary>Offset of significant token <paramref name="k"/>, or the statement's end when <paramref name="k"/> is past its last token (for messages).</summary>
    public int StartOrEnd(int k) => k < Count ? Start(k) : Count == 0 ? 0 : End(Count - 1);

    /// <summary>Offset just past significant token <paramref name="k"/>, measured on the original text.</summary>
    public int End(int k) => this[k].Offset + OriginalLength(k);

    /// <summary>The original text of significant token <paramref name="k"/>.</summary>
    public string OriginalText(int k) => CommandText.Substring(Start(k), OriginalLength(k));

    /// <summary>Whether token <paramref name="k"/> is the bare word <paramref name="word"/> (keyword or identifier, any case).</summary>
    public bool IsWord(int k, string word)
    {
        if (k < 0 || k >= Count)
        {
            return false;
        }
        var token = this[k];
        return string.Equals(token.Text, word, StringComparison.OrdinalIgnoreCase) && IsBareWord(token);
    }

    /// <summary>Whether token <paramref name="k"/> is a name: a bare word or a double-quoted identifier.</summary>
    public bool IsName(int k)
    {
        if (k < 0 || k >= Count)
        {
            return false;
        }
        var token = this[k];
        return IsBareWord(token) || token.TokenType is TSqlTokenType.QuotedIdentifier or TSqlTokenType.AsciiStringOrQuotedIdentifier;
    }

    /// <summary>The first significant token at or after <paramref name="from"/> at depth 0 that is one of <paramref name="words"/>, or -1.</summary>
    public int FindTopLevelWord(int from, params ReadOnlySpan<string> words)
    {
        for (var k = Math.Max(from, 0); k < Count; k++)
        {
            if (_depth[k] != 0)
            {
                continue;
            }
            foreach (var word in words)
            {
                if (IsWord(k, word))
                {
                    return k;
                }
            }
        }
        return -1;
    }

    /// <summary>Token ranges between commas at the depth of <paramref name="from"/>.</summary>
    public List<(int From, int To)> SplitByCommas(int from, int to)
    {
        var parts = new List<(int, int)>();
        if (from > to)
        {
            return parts;
        }
        var depth = _depth[from];
        var start = from;
        for (var k = from; k <= to; k++)
        {
            if (Type(k) == TSqlTokenType.Comma && _depth[k] == depth)
            {
                if (k > start)
                {
                    parts.Add((start, k - 1));
                }
                start = k + 1;
            }
        }
        if (start <= to)
        {
            parts.Add((start, to));
        }
        return parts;
    }

    /// <summary>The index of the parenthesis that closes the one at <paramref name="open"/>, or -1.</summary>
    public int MatchingParenthesis(int open)
    {
        var depth = _depth[open];
        for (var k = open + 1; k < Count; k++)
        {
            if (Type(k) == TSqlTokenType.RightParenthesis && _depth[k] == depth)
            {
                return k;
            }
        }
        return -1;
    }

    /// <summary>The significant token containing or starting at <paramref name="offset"/>, or the first one after it; Count when none.</summary>
    public int IndexAtOrAfter(int offset)
    {
        var low = 0;
        var high = Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (End(mid) <= offset)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return low;
    }

    /// <summary>
    /// Hides significant token <paramref name="k"/> from the parser. <paramref name="inline"/> marks it
    /// part of an expression (a cast, a typed literal), so the expression's span grows over it.
    /// </summary>
    public void Remove(int k, bool inline = false)
    {
        _removed[_significant[k]] = true;
        _inline[_significant[k]] |= inline; // hiding a whole expression later keeps its casts marked as such
    }

    /// <summary>Hides significant tokens <paramref name="from"/> to <paramref name="to"/> (inclusive) from the parser.</summary>
    public void Remove(int from, int to, bool inline = false)
    {
        for (var k = from; k <= to; k++)
        {
            Remove(k, inline);
        }
    }

    /// <summary>Whether significant token <paramref name="k"/> was hidden as part of an expression.</summary>
    public bool IsInlineRemoved(int k) => _removed[_significant[k]] && _inline[_significant[k]];

    /// <summary>Whether significant token <paramref name="k"/> is hidden from the parser.</summary>
    public bool IsRemoved(int k) => _removed[_significant[k]];

    /// <summary>Presents significant token <paramref name="k"/> to the parser as another token (its offset stays).</summary>
    public void Replace(int k, TSqlTokenType type, string text)
    {
        var token = this[k];
        _originalLengths ??= new Dictionary<int, int>();
        _originalLengths.TryAdd(k, token.Text.Length);
        token.TokenType = type;
        token.Text = text;
    }

    /// <summary>
    /// Hides significant tokens <paramref name="from"/> to <paramref name="to"/> and shows the parser
    /// <paramref name="placeholder"/> in their place: an expression whose text the model carries as
    /// written, so the parser only needs to see that something valid stands there.
    /// </summary>
    public void MakeOpaque(int from, int to, params ReadOnlySpan<(TSqlTokenType Type, string Text)> placeholder)
    {
        Remove(from, to);
        var offset = Start(from);
        var tokens = new TSqlParserToken[placeholder.Length];
        for (var i = 0; i < placeholder.Length; i++)
        {
            tokens[i] = new TSqlParserToken(placeholder[i].Type, offset, placeholder[i].Text, this[from].Line, this[from].Column);
        }
        _insertions ??= [];
        _insertions[_significant[from]] = tokens;
    }

    /// <summary>Presents a keyword used as a name (T-SQL reserves words PostgreSQL does not, e.g. <c>public</c>, <c>key</c>) as an identifier.</summary>
    public void AsIdentifier(int k)
    {
        if (k >= 0 && k < Count && IsBareWord(this[k]) && this[k].TokenType != TSqlTokenType.Identifier)
        {
            this[k].TokenType = TSqlTokenType.Identifier;
        }
    }

    /// <summary>The tokens the parser is to see, ended by an end-of-file token.</summary>
    public List<TSqlParserToken> ForParser()
    {
        var result = new List<TSqlParserToken>(_all.Count + 1);
        for (var i = 0; i < _all.Count; i++)
        {
            if (_insertions is not null && _insertions.TryGetValue(i, out var inserted))
            {
                result.AddRange(inserted);
            }
            if (!_removed[i])
            {
                result.Add(_all[i]);
            }
        }
        var endOffset = Count == 0 ? 0 : End(Count - 1);
        result.Add(new TSqlParserToken(TSqlTokenType.EndOfFile, endOffset, string.Empty, 0, 0));
        return result;
    }

    private int OriginalLength(int k) =>
        _originalLengths is not null && _originalLengths.TryGetValue(k, out var length) ? length : this[k].Text.Length;

    // A keyword or an unquoted identifier: the lexer's type varies (T-SQL keywords have their own
    // types, PostgreSQL-only words are identifiers), so the text decides.
    private static bool IsBareWord(TSqlParserToken token)
    {
        var text = token.Text;
        if (string.IsNullOrEmpty(text) || !(char.IsLetter(text[0]) || text[0] == '_'))
        {
            return false;
        }
        if (token.TokenType is TSqlTokenType.QuotedIdentifier or TSqlTokenType.AsciiStringOrQuotedIdentifier
            or TSqlTokenType.AsciiStringLiteral or TSqlTokenType.UnicodeStringLiteral or TSqlTokenType.Variable)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!(char.IsLetterOrDigit(c) || c is '_' or '$'))
            {
                return false;
            }
        }
        return true;
    }
}
