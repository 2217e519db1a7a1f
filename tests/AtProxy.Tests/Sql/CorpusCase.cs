namespace AtProxy.Tests.Sql;

/// <summary>
/// One entry of the SQL corpus: a command text, the model the recognizer must produce for it,
/// and what the database run needs (parameter values, an expected metadata refusal).
/// </summary>
public sealed record CorpusCase(
    string File,
    string Name,
    string Sql,
    IReadOnlyDictionary<string, string> Parameters,
    string? Refused,
    string Expected)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Name}";
}
