namespace AtProxy.Sql;

/// <summary>
/// One statement of a command, as the proxy needs it. Every span points into the original
/// command text, so generated SQL splices the user's own text and the user's parameters bind
/// to it unchanged. Immutable: instances are shared through the recognition cache.
/// </summary>
internal sealed record DmlStatement
{
    private static readonly IReadOnlyList<ColumnAssignment> NoAssignments = [];

    /// <summary>What the statement does.</summary>
    public required DmlKind Kind { get; init; }

    /// <summary>The statement's own text in the command, from its first token to its last (no trailing <c>;</c>).</summary>
    public required TextSpan Span { get; init; }

    /// <summary>The statement's text (<see cref="Span"/> of the command text).</summary>
    public required string Text { get; init; }

    /// <summary>1-based line where the statement starts in the command text.</summary>
    public required int Line { get; init; }

    /// <summary>1-based column where the statement starts.</summary>
    public required int Column { get; init; }

    /// <summary>0-based index of the statement in its command.</summary>
    public required int Index { get; init; }

    /// <summary>The table written (or, for <see cref="DmlKind.SelectForUpdate"/>, the first table read); null for pass-through.</summary>
    public TableReference? Target { get; init; }

    /// <summary>The WHERE condition exactly as written (without the keyword), or null when there is none.</summary>
    public SqlExpression? Where { get; init; }

    /// <summary>The SET list of an UPDATE.</summary>
    public IReadOnlyList<ColumnAssignment> Set { get; init; } = NoAssignments;

    /// <summary>The INSERT column list (identifier rules applied); empty when not given (table order).</summary>
    public IReadOnlyList<string> InsertColumns { get; init; } = [];

    /// <summary>Every VALUES row, each value as written, in INSERT column order.</summary>
    public IReadOnlyList<IReadOnlyList<SqlExpression>> ValuesRows { get; init; } = [];

    /// <summary>True for <c>INSERT ... DEFAULT VALUES</c>.</summary>
    public bool IsDefaultValues { get; init; }

    /// <summary>The list after <c>RETURNING</c> (without the keyword), or null.</summary>
    public SqlExpression? Returning { get; init; }

    /// <summary>The <c>ON CONFLICT</c> clause of an upsert, or null.</summary>
    public OnConflictClause? OnConflict { get; init; }

    /// <summary>
    /// The list of <c>UPDATE ... FROM</c>, <c>DELETE ... USING</c>, or a locking SELECT's FROM, as written
    /// (without the keyword); null when there is none.
    /// </summary>
    public SqlExpression? FromList { get; init; }

    /// <summary>Tables joined in <see cref="FromList"/> (for a SELECT, the tables other than <see cref="Target"/>).</summary>
    public IReadOnlyList<TableReference> JoinedTables { get; init; } = [];

    /// <summary>A locking SELECT's <c>ORDER BY</c> list as written, or null.</summary>
    public SqlExpression? OrderBy { get; init; }

    /// <summary>A locking SELECT's <c>LIMIT</c>/<c>OFFSET</c>/<c>FETCH</c> clauses as written (keywords included), or null.</summary>
    public SqlExpression? Limit { get; init; }

    /// <summary>A SELECT's row-locking clauses.</summary>
    public IReadOnlyList<RowLockClause> RowLocks { get; init; } = [];

    /// <summary>Every parameter placeholder in the statement, in text order.</summary>
    public IReadOnlyList<SqlParameterReference> Parameters { get; init; } = [];

    /// <summary>The PostgreSQL-only constructs the masking pass hid from the parser.</summary>
    public IReadOnlyList<MaskedConstruct> Masks { get; init; } = [];

    /// <summary>Why the statement may not run in a global transaction, or null when it may.</summary>
    public UnsupportedConstruct? Unsupported { get; init; }

    /// <summary>Whether the statement writes rows the proxy must image and lock.</summary>
    public bool IsWrite => Kind is DmlKind.Insert or DmlKind.Update or DmlKind.Delete or DmlKind.Upsert;

    /// <summary>The parameters referenced inside <paramref name="span"/> (e.g. the WHERE clause), in text order.</summary>
    public IEnumerable<SqlParameterReference> ParametersIn(TextSpan span) =>
        Parameters.Where(p => span.Contains(p.Span));

    /// <summary>The original text of <paramref name="span"/>, which must lie inside this statement.</summary>
    public string TextOf(TextSpan span) => Text.Substring(span.Start - Span.Start, span.Length);

    /// <summary>Raises the statement's <see cref="AtProxyNotSupportedException"/> when it has one.</summary>
    /// <exception cref="AtProxyNotSupportedException">The statement cannot run in a global transaction.</exception>
    public void EnsureSupported()
    {
        if (Unsupported is not null)
        {
            throw Unsupported.ToException();
        }
    }

    /// <summary>A refusal of <paramref name="construct"/> at <paramref name="offset"/> (an offset in the command text inside this statement).</summary>
    public UnsupportedConstruct Refuse(string construct, int offset, string? detail = null)
    {
        var line = Line;
        var column = Column;
        for (var i = Span.Start; i < offset && i - Span.Start < Text.Length; i++)
        {
            if (Text[i - Span.Start] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }
        return new UnsupportedConstruct(construct, offset, line, column, detail);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kind} {Target} @{Span.Start}";
}
