namespace AtProxy.Cli.Undo;

/// <summary>
/// A row as its table holds it now, each column in PostgreSQL's text form: <c>Values</c> is null
/// when no row has that key; <c>Error</c> says why it could not be read.
/// </summary>
internal sealed record CurrentRow(IReadOnlyList<string?>? Values, string? Error);
