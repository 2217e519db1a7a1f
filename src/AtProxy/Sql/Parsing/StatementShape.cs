namespace AtProxy.Sql.Parsing;

/// <summary>
/// What the masking pass found in one statement, for the model builder: the masked constructs,
/// the parameters, and the token ranges of the parts whose text the model carries as written.
/// </summary>
internal sealed class StatementShape(List<MaskedConstruct> masks)
{
    /// <summary>Every masked construct (the pre-scanner's included).</summary>
    public List<MaskedConstruct> Masks { get; } = masks;

    /// <summary>Every parameter placeholder found.</summary>
    public List<SqlParameterReference> Parameters { get; } = [];

    /// <summary>The target's alias (identifier rules applied), or null.</summary>
    public string? TargetAlias { get; set; }

    /// <summary>Whether the target was written <c>ONLY name</c>.</summary>
    public bool TargetOnly { get; set; }

    /// <summary>Token index of RETURNING, or -1.</summary>
    public int Returning { get; set; } = -1;

    /// <summary>First and last token index of ON CONFLICT ..., or null.</summary>
    public (int From, int To)? OnConflict { get; set; }

    /// <summary>Token index where a SELECT's LIMIT/OFFSET/FETCH/FOR clauses begin, or -1.</summary>
    public int SelectTail { get; set; } = -1;

    /// <summary>The WHERE condition's tokens, or null.</summary>
    public (int From, int To)? Where { get; set; }

    /// <summary>The tables after UPDATE's FROM, DELETE's USING or SELECT's FROM, or null.</summary>
    public (int From, int To)? FromList { get; set; }

    /// <summary>A locking SELECT's ORDER BY list, or null.</summary>
    public (int From, int To)? OrderBy { get; set; }

    /// <summary>Each SET item's value tokens, in order.</summary>
    public List<(int From, int To)> SetValues { get; } = [];

    /// <summary>Each VALUES row's item tokens, in order.</summary>
    public List<List<(int From, int To)>> ValuesRows { get; } = [];

    /// <summary>A construct refused while masking (with its token), or null.</summary>
    public (string Construct, int At, string? Detail)? Refusal { get; set; }
}
