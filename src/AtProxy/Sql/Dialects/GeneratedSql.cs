namespace AtProxy.Sql.Dialects;

/// <summary>
/// A value the proxy must bind to a generated statement. Set <c>NpgsqlParameter.ParameterName</c>
/// to <see cref="Name"/>, <c>Value</c> to <see cref="Value"/> (null becomes <c>DBNull.Value</c>) and
/// <c>DataTypeName</c> to <see cref="DataTypeName"/>.
/// </summary>
/// <param name="Name">The placeholder's name without <c>@</c>; always starts with <see cref="GeneratedSql.ParameterPrefix"/>.</param>
/// <param name="Value">The value (an array for <c>= ANY(...)</c>).</param>
/// <param name="DataTypeName">The PostgreSQL type, from <c>ColumnMetadata.DataType</c> without type modifiers.</param>
internal sealed record GeneratedParameter(string Name, object? Value, string DataTypeName);

/// <summary>
/// SQL the proxy generated, with what to bind to it. Identifiers are quoted and every value is
/// a parameter; no value is ever spliced into the text.
/// </summary>
/// <param name="Text">The statement text.</param>
/// <param name="Parameters">The generated parameters to bind.</param>
/// <param name="BindsUserParameters">
/// True when <see cref="Text"/> splices the user's own text (WHERE, VALUES) and so needs the
/// user's command parameters as well: copy all of them, in their order, unchanged.
/// </param>
internal sealed record GeneratedSql(string Text, IReadOnlyList<GeneratedParameter> Parameters, bool BindsUserParameters = false)
{
    /// <summary>Every generated parameter name starts with this, so it never clashes with the user's.</summary>
    public const string ParameterPrefix = "__atp_";

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>
/// A write statement rewritten to also return its rows' primary keys, as extra trailing
/// columns after the user's own RETURNING list (if any).
/// </summary>
/// <param name="Text">The statement to run instead of the user's; the user's parameters bind unchanged.</param>
/// <param name="KeyColumnCount">How many trailing result columns are keys the user did not ask for (hide them).</param>
/// <param name="HadReturning">Whether the user's statement returned rows itself (if not, the proxy consumes the result).</param>
internal sealed record KeyReturningStatement(string Text, int KeyColumnCount, bool HadReturning);

/// <summary>A global row lock key: one row of one table (see <c>LockKey</c> in <c>common.proto</c>).</summary>
/// <param name="Table">"schema.table" with catalog names.</param>
/// <param name="PrimaryKey">The key's canonical text: values joined by ',' with ',' and '\' escaped by '\'.</param>
internal readonly record struct RowLockKey(string Table, string PrimaryKey)
{
    /// <inheritdoc />
    public override string ToString() => Table + ":" + PrimaryKey;
}
