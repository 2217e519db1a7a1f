using System.Data.Common;
using AtProxy.Protocol.Undo;
using Npgsql;

namespace AtProxy.Images;

/// <summary>
/// The one text form images are captured, stored, compared and restored in, whatever the writing
/// session's settings. A value's text depends on the session: <c>TimeZone</c> and <c>DateStyle</c>
/// (timestamps, dates), <c>IntervalStyle</c>, <c>extra_float_digits</c> (which can round floats),
/// <c>bytea_output</c>, <c>lc_monetary</c> and <c>search_path</c> (reg* types). Images are therefore
/// read through <see cref="ImageFunction"/>, a function that pins these settings for the duration of
/// one call, so the application's statement itself still runs under the application's settings;
/// reverse SQL parses the values back in a transaction pinned the same way (<see cref="PinSettingsSql(string)"/>).
/// </summary>
internal static class CanonicalText
{
    /// <summary>The image function's name: a whole row (or a ROW(...) of key columns) in, its record text out.</summary>
    public const string ImageFunction = UndoValueText.ImageFunction;

    /// <summary>Prints a column type fully qualified, whatever the session's search_path.</summary>
    public const string TypeNameFunction = "atproxy_type_name_v1";

    /// <summary>
    /// Pins every setting but search_path for the rest of the transaction, with a lock timeout of
    /// <paramref name="lockTimeout"/>: reverse SQL names every type and table schema-qualified, and
    /// operators of extension types must still resolve as the application's do.
    /// </summary>
    public static string PinSettingsSql(string lockTimeout) =>
        UndoValueText.PinSettingsSql(local: true) + $", set_config('lock_timeout', '{lockTimeout}', true)";

    /// <summary>Puts back the session's own settings, for undo records captured in its text forms (format version 1).</summary>
    public static string UnpinSettingsSql { get; } =
        string.Join(";\n", UndoValueText.PinnedSettings.Select(s => $"SET LOCAL {s.Key} TO DEFAULT"));

    /// <summary>The DDL of both functions in <paramref name="quotedSchema"/>, one statement each.</summary>
    public static IReadOnlyList<(string Signature, string Ddl)> FunctionsSql(string quotedSchema)
    {
        var pinned = string.Join(" ", UndoValueText.PinnedSettings.Select(s => $"SET {s.Key} = '{s.Value}'"));
        return
        [
            ($"{quotedSchema}.{ImageFunction}(anyelement)", $"""
                CREATE FUNCTION {quotedSchema}.{ImageFunction}(anyelement) RETURNS text
                    LANGUAGE plpgsql STABLE PARALLEL SAFE
                    {pinned} SET search_path = pg_catalog, pg_temp
                    AS $atp$ BEGIN RETURN $1::text; END $atp$
                """),
            ($"{quotedSchema}.{TypeNameFunction}(oid, integer)", $"""
                CREATE FUNCTION {quotedSchema}.{TypeNameFunction}(oid, integer) RETURNS text
                    LANGUAGE sql STABLE PARALLEL SAFE
                    SET search_path = pg_catalog, pg_temp
                    AS $atp$ SELECT pg_catalog.format_type($1, $2) $atp$
                """),
        ];
    }

    /// <summary>
    /// Creates the functions in <paramref name="quotedSchema"/> when missing. A role that may not create
    /// them gets an error with the DDL a database owner can run instead.
    /// </summary>
    public static async Task EnsureFunctionsAsync(DbConnection connection, string quotedSchema, CancellationToken cancellationToken)
    {
        var functions = FunctionsSql(quotedSchema);
        foreach (var (signature, ddl) in functions)
        {
            var exists = connection.CreateCommand();
            await using var existsDisposal = exists.ConfigureAwait(false);
            exists.CommandText = "SELECT to_regprocedure(@signature) IS NOT NULL";
            Add(exists, "signature", signature);
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
            {
                continue;
            }
            var create = connection.CreateCommand();
            await using var createDisposal = create.ConfigureAwait(false);
            create.CommandText = ddl;
            try
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateFunction or PostgresErrorCodes.UniqueViolation)
            {
                // Another process created it at the same moment.
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege)
            {
                throw new AtProxyException(
                    $"AtProxy reads row images through two functions in schema {quotedSchema}, and this role may not create them ({ex.MessageText}). " +
                    $"Ask the database owner to run:\n{string.Join(";\n", functions.Select(f => f.Ddl))};", ex);
            }
        }
        await VerifyFunctionsAsync(connection, quotedSchema, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Refuses functions that another role may have planted: each name once (an overload for one table's
    /// row type would be preferred over <c>anyelement</c>), owned by this role or by the undo table's owner.
    /// </summary>
    private static async Task VerifyFunctionsAsync(DbConnection connection, string quotedSchema, CancellationToken cancellationToken)
    {
        var check = connection.CreateCommand();
        await using var checkDisposal = check.ConfigureAwait(false);
        check.CommandText = $"""
            SELECT count(*), count(*) FILTER (WHERE p.proowner NOT IN (
                       (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user),
                       coalesce((SELECT c.relowner FROM pg_class c WHERE c.oid = to_regclass(@table)), 0)))
            FROM pg_proc p
            WHERE p.pronamespace = to_regnamespace(@schema) AND p.proname IN ('{ImageFunction}', '{TypeNameFunction}')
            """;
        Add(check, "table", quotedSchema + "." + UndoLogTables.UndoLog);
        Add(check, "schema", quotedSchema);
        var reader = await check.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var (total, foreign) = (reader.GetInt64(0), reader.GetInt64(1));
        if (total != 2 || foreign != 0)
        {
            throw new AtProxyException(
                $"Schema {quotedSchema} holds {total} functions named {ImageFunction} or {TypeNameFunction} ({foreign} owned by a role other than this one " +
                "and the undo log's owner); AtProxy reads row images through them and expects exactly one of each, created by AtProxy. Drop the others.");
        }
    }

    private static void Add(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
