namespace AtProxy.Sql;

/// <summary>A whole command text split into its statements, each recognized. Immutable and cached.</summary>
internal sealed class RecognizedCommand
{
    /// <summary>Creates the result for <paramref name="commandText"/>.</summary>
    public RecognizedCommand(string commandText, IReadOnlyList<DmlStatement> statements)
    {
        CommandText = commandText;
        Statements = statements;
        foreach (var statement in statements)
        {
            if (statement.Kind != DmlKind.PassThrough)
            {
                NeedsProxy = true;
            }
            if (statement.Unsupported is not null && FirstUnsupported is null)
            {
                FirstUnsupported = statement;
            }
        }
    }

    /// <summary>The command text the statements' spans point into.</summary>
    public string CommandText { get; }

    /// <summary>The statements in text order; empty for a blank command.</summary>
    public IReadOnlyList<DmlStatement> Statements { get; }

    /// <summary>Whether any statement writes or locks rows (so the proxy must do more than pass it on).</summary>
    public bool NeedsProxy { get; }

    /// <summary>The first statement that cannot run inside a global transaction, or null.</summary>
    public DmlStatement? FirstUnsupported { get; }

    /// <summary>Raises <see cref="AtProxyNotSupportedException"/> for the first unsupported statement, if any.</summary>
    /// <exception cref="AtProxyNotSupportedException">A statement cannot run in a global transaction.</exception>
    public void EnsureSupported() => FirstUnsupported?.EnsureSupported();
}
