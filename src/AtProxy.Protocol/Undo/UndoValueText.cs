namespace AtProxy.Protocol.Undo;

/// <summary>
/// How the values of undo records (format version 2) are printed, so that every reader compares and
/// parses them alike: each row is read through the database function <see cref="ImageFunction"/>
/// (in the undo log's schema), which prints the row's record text under <see cref="PinnedSettings"/>
/// whatever the reading session's own settings; values are parsed back (cast to their column's type)
/// in a transaction with the same settings.
/// </summary>
public static class UndoValueText
{
    /// <summary>The undo record format version whose values are in this form.</summary>
    public const uint FormatVersion = 2;

    /// <summary>The function that prints a whole row, or a <c>ROW(...)</c> of key columns, as record text.</summary>
    /// <remarks>Versioned: a change of the pinned settings is a new function, never a replaced one.</remarks>
    public const string ImageFunction = "atproxy_image_v1";

    /// <summary>
    /// The settings values are printed and parsed under: every setting that changes a built-in type's
    /// text (time zone and date style for timestamps and dates, interval style, float digits, which
    /// can round, bytea output, the monetary locale). The function also pins <c>search_path</c>, so reg*
    /// values are printed schema-qualified.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> PinnedSettings { get; } =
    [
        new("TimeZone", "UTC"),
        new("DateStyle", "ISO, YMD"),
        new("IntervalStyle", "postgres"),
        new("extra_float_digits", "3"),
        new("bytea_output", "hex"),
        new("lc_monetary", "C"),
    ];

    /// <summary>
    /// One statement that sets every pinned setting (one round trip and one statement for the server),
    /// for the current transaction only when <paramref name="local"/>, else for the session.
    /// </summary>
    public static string PinSettingsSql(bool local) =>
        "SELECT " + string.Join(", ", PinnedSettings.Select(s => $"set_config('{s.Key}', '{s.Value}', {(local ? "true" : "false")})"));
}
