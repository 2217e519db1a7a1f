namespace AtProxy.Sql;

/// <summary>One <c>column = value</c> of a SET list.</summary>
/// <param name="Column">The column name with PostgreSQL's identifier rules applied.</param>
/// <param name="ColumnSpan">Where the column name is in the command text.</param>
/// <param name="Value">The value expression as written.</param>
internal sealed record ColumnAssignment(string Column, TextSpan ColumnSpan, SqlExpression Value)
{
    /// <inheritdoc />
    public override string ToString() => Column + " = " + Value.Text;
}
