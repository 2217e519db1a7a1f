namespace AtProxy.Sql;

/// <summary>A PostgreSQL-only construct hidden from the T-SQL parser.</summary>
internal enum MaskKind
{
    /// <summary><c>::type</c>, including modifiers and array brackets.</summary>
    Cast,

    /// <summary><c>$1</c> or <c>:name</c> presented to the parser as a variable.</summary>
    Parameter,

    /// <summary><c>E'...'</c> (backslash escapes) or <c>$tag$...$tag$</c>, presented as a plain string.</summary>
    StringLiteral,

    /// <summary>Array brackets presented to the parser as parentheses.</summary>
    ArrayBrackets,

    /// <summary><c>RETURNING ...</c>.</summary>
    Returning,

    /// <summary><c>ON CONFLICT ...</c>.</summary>
    OnConflict,

    /// <summary>The target's alias: <c>UPDATE t AS s</c>, <c>UPDATE t s</c>, <c>DELETE FROM t AS s</c>, <c>INSERT INTO t AS s</c>.</summary>
    TargetAlias,

    /// <summary><c>ONLY</c> before a table name, or <c>*</c> after it.</summary>
    Inheritance,

    /// <summary><c>DELETE ... USING</c>, presented as T-SQL's second <c>FROM</c>.</summary>
    Using,

    /// <summary><c>= ANY(array)</c>, <c>&lt;&gt; ALL(array)</c>: the array form, not a sub-query.</summary>
    ArrayComparison,

    /// <summary><c>ILIKE</c>, presented as <c>LIKE</c>.</summary>
    ILike,

    /// <summary>A typed literal such as <c>interval '1 day'</c>.</summary>
    TypedLiteral,

    /// <summary><c>OVERRIDING SYSTEM VALUE</c> / <c>OVERRIDING USER VALUE</c>.</summary>
    Overriding,

    /// <summary><c>FOR UPDATE [OF ...] [NOWAIT | SKIP LOCKED]</c> and the other row-lock clauses.</summary>
    RowLock,

    /// <summary><c>LIMIT</c>, <c>OFFSET</c> or <c>FETCH</c> of a <c>SELECT</c>.</summary>
    Limit,

    /// <summary>An operator character T-SQL cannot tokenize (jsonb's <c>?</c>), presented as another.</summary>
    Operator,

    /// <summary><c>NULLS FIRST</c> / <c>NULLS LAST</c> in an <c>ORDER BY</c>.</summary>
    NullsOrder,
}

/// <summary>Where the masking pass hid a construct, and what it was.</summary>
/// <param name="Kind">What was masked.</param>
/// <param name="Span">The original text it covers.</param>
internal readonly record struct MaskedConstruct(MaskKind Kind, TextSpan Span);
