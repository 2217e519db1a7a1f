namespace AtProxy.Sql.Parsing;

/// <summary>Where a statement sits in its command, and how to report a construct in it.</summary>
internal sealed class StatementContext(string commandText, int index, TextSpan span)
{
    /// <summary>The whole command text.</summary>
    public string CommandText { get; } = commandText;

    /// <summary>0-based index of the statement in the command.</summary>
    public int Index { get; } = index;

    /// <summary>The statement's span in the command text.</summary>
    public TextSpan Span { get; } = span;

    /// <summary>A refusal of <paramref name="construct"/> at <paramref name="offset"/>.</summary>
    public UnsupportedConstruct Refuse(string construct, int offset, string? detail = null)
    {
        var (line, column) = TextPosition.Of(CommandText, offset);
        return new UnsupportedConstruct(construct, offset, line, column, detail);
    }

    /// <summary>A model with only the statement's identity filled in, for the builder to complete.</summary>
    public DmlStatement Statement(DmlKind kind, UnsupportedConstruct? unsupported = null)
    {
        var (line, column) = TextPosition.Of(CommandText, Span.Start);
        return new DmlStatement
        {
            Kind = kind,
            Span = Span,
            Text = Span.Of(CommandText),
            Line = line,
            Column = column,
            Index = Index,
            Unsupported = unsupported,
        };
    }
}
