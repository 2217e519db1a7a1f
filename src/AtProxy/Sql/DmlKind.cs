namespace AtProxy.Sql;

/// <summary>What a statement does, as far as a global transaction cares.</summary>
internal enum DmlKind
{
    /// <summary>Runs untouched: read-only statements, DDL, session commands.</summary>
    PassThrough,

    /// <summary><c>INSERT ... VALUES</c> (or <c>DEFAULT VALUES</c>).</summary>
    Insert,

    /// <summary><c>UPDATE</c>, with or without <c>FROM</c>.</summary>
    Update,

    /// <summary><c>DELETE</c>, with or without <c>USING</c>.</summary>
    Delete,

    /// <summary><c>INSERT ... ON CONFLICT</c>: each row is either inserted, updated or left alone.</summary>
    Upsert,

    /// <summary><c>SELECT ... FOR UPDATE</c> (or another row-locking clause): must wait for global locks.</summary>
    SelectForUpdate,
}
