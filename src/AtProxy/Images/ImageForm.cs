namespace AtProxy.Images;

/// <summary>How the values of an undo record were printed, so rollback compares and parses them alike.</summary>
internal enum ImageForm
{
    /// <summary>
    /// Each column's <c>::text</c> in the writing session's own settings (undo format version 1).
    /// Rollback reads and restores such records in the resource manager's session defaults.
    /// </summary>
    SessionText = 1,

    /// <summary>Record fields printed by <see cref="CanonicalText.ImageFunction"/> under pinned settings (format version 2).</summary>
    Canonical = 2,
}
