namespace AtProxy.Sql;

/// <summary>
/// Why a statement cannot run inside a global transaction, and where it is. Kept in the model
/// (not thrown at recognition) because the same text is fine outside a global transaction.
/// </summary>
/// <param name="Construct">The construct, in words: "MERGE", "INSERT ... SELECT", ...</param>
/// <param name="Offset">0-based offset of the construct in the command text.</param>
/// <param name="Line">1-based line of <paramref name="Offset"/>.</param>
/// <param name="Column">1-based column of <paramref name="Offset"/>.</param>
/// <param name="Detail">More explanation (e.g. the parser's message), or null.</param>
internal sealed record UnsupportedConstruct(string Construct, int Offset, int Line, int Column, string? Detail = null)
{
    /// <summary>The message of the exception raised for it.</summary>
    public string Message =>
        $"{Construct} is not supported inside a global transaction (line {Line}, column {Column})" +
        (Detail is null ? "." : ": " + Detail + (Detail.EndsWith('.') ? "" : "."));

    /// <summary>The exception to raise for it.</summary>
    public AtProxyNotSupportedException ToException() => new(Message);
}
