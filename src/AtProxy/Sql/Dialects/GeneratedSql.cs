using AtProxy.Protocol.V1;

namespace AtProxy.Sql.Dialects;

/// <summary>
/// A value the proxy binds to a generated statement: always text (or a text array), because
/// images hold each value's exact text form; the statement casts it to the column's own type.
/// </summary>
/// <param name="Name">The placeholder's name without <c>@</c>; always starts with <see cref="GeneratedSql.ParameterPrefix"/>.</param>
/// <param name="Value">A <see cref="string"/>, a <see cref="string"/> array (for <c>unnest</c>), or null for SQL NULL.</param>
internal sealed record GeneratedParameter(string Name, object? Value);

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
    /// <summary>Every generated parameter and column name starts with this, so it never clashes with the user's.</summary>
    public const string ParameterPrefix = "__atp_";

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>
/// A write statement rewritten to also return, as extra trailing columns after the user's own
/// RETURNING list (if any), what the undo log needs of each row it wrote, in one record text
/// column (<see cref="PostgresDialect.ImageColumn"/>): for an INSERT, UPDATE or upsert the whole
/// row in column order (its after image, read in the same round trip); for a DELETE the primary
/// key in key order; then the oid of the row type of the table the statement wrote (see
/// <see cref="PostgresDialect.RowTypeColumn"/>). An upsert that may update also returns whether each
/// row was inserted.
/// </summary>
/// <param name="Text">The statement to run instead of the user's; the user's parameters bind unchanged.</param>
/// <param name="ImageColumnCount">How many values the image record holds (the table's columns, or its key's).</param>
/// <param name="ReturnsRows">True when the image is the whole row, false when only its key (a DELETE).</param>
/// <param name="HasInsertedFlag">Whether a boolean "inserted" column follows it (an upsert that may update).</param>
/// <param name="HadReturning">Whether the user's statement returned rows itself (if not, the proxy consumes the result).</param>
internal sealed record ImageReturningStatement(string Text, int ImageColumnCount, bool ReturnsRows, bool HasInsertedFlag, bool HadReturning)
{
    /// <summary>How many trailing result columns are the proxy's (hide them from the user).</summary>
    public int HiddenColumnCount => 2 + (HasInsertedFlag ? 1 : 0);
}

/// <summary>A global row lock key: one row of one table (see <c>LockKey</c> in <c>common.proto</c>).</summary>
/// <param name="Table">"schema.table" with catalog names.</param>
/// <param name="PrimaryKey">The key's canonical text: values joined by ',' with ',' and '\' escaped by '\'.</param>
internal readonly record struct RowLockKey(string Table, string PrimaryKey)
{
    /// <summary>The key as the coordinator's contract carries it.</summary>
    public LockKey ToLockKey() => new() { Table = Table, PrimaryKey = PrimaryKey };

    /// <inheritdoc />
    public override string ToString() => Table + ":" + PrimaryKey;
}
