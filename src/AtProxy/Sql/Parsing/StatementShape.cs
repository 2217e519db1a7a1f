namespace AtProxy.Sql.Parsing;

/// <summary>What the masking pass found in one statement, for the model builder.</summary>
internal sealed class StatementShape(List<MaskedConstruct> masks)
{
    /// <summary>Every masked construct (the pre-scanner's included).</summary>
    public List<MaskedConstruct> Masks { get; } = masks;

    /// <summary>Every parameter placeholder found.</summary>
    public List<SqlParameterReference> Parameters { get; } = [];

    /// <summary>The target's alias (identifier rules applied), or null.</summary>
    public string? TargetAlias { get; set; }

    /// <summary>Token index of RETURNING, or -1.</summary>
    public int Returning { get; set; } = -1;

    /// <summary>First and last token index of ON CONFLICT ..., or null.</summary>
    public (int From, int To)? OnConflict { get; set; }

    /// <summary>Token index where a SELECT's LIMIT/OFFSET/FETCH/FOR clauses begin, or -1.</summary>
    public int SelectTail { get; set; } = -1;
}
