using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AtProxy.Phase1;
using AtProxy.Protocol;
using Npgsql;

namespace AtProxy.EntityFrameworkCore;

/// <summary>
/// Hands EF Core the results of statements the phase-1 engine already ran, as a genuine
/// <see cref="NpgsqlDataReader"/>: Npgsql's EF provider reads per-statement row counts from it, so
/// no other reader type will do. One replay statement per original statement, in order: the rows
/// it returned, selected back from typed parameters, or, for a statement that returned no rows,
/// an UPDATE of a session-private counter table that reports the same row count.
/// </summary>
internal static partial class ResultReplay
{
    private const string CounterTable = "pg_temp.atproxy_replay_rows";

    public static async Task<DbDataReader> ReplayAsync(DbCommand original, ExecutionResult result, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)original.Connection!;
        var transaction = (NpgsqlTransaction?)original.Transaction;
        var counted = result.ResultSets.Where(s => s.Names.Length == 0).Select(s => s.RecordsAffected).DefaultIfEmpty(0).Max();
        if (counted > 0)
        {
            await EnsureCounterRowsAsync(connection, transaction, counted, cancellationToken).ConfigureAwait(false);
        }

        var replay = new NpgsqlCommand { Connection = connection, Transaction = transaction };
        var sql = new StringBuilder();
        foreach (var set in result.ResultSets)
        {
            if (sql.Length > 0)
            {
                sql.Append(";\n");
            }
            if (set.Names.Length == 0)
            {
                sql.Append("UPDATE ").Append(CounterTable).Append(" SET n = n WHERE n <= ").Append(Math.Max(0, set.RecordsAffected).ToString(CultureInfo.InvariantCulture));
                continue;
            }
            AppendRows(sql, replay, set);
        }
        replay.CommandText = sql.ToString();
        return await replay.ExecuteReaderAsync(System.Data.CommandBehavior.Default, cancellationToken).ConfigureAwait(false);
    }

    private static void AppendRows(StringBuilder sql, NpgsqlCommand replay, BufferedResultSet set)
    {
        string Parameter(object? value, int column)
        {
            var parameter = new NpgsqlParameter
            {
                ParameterName = "r" + replay.Parameters.Count.ToString(CultureInfo.InvariantCulture),
                Value = value ?? DBNull.Value,
                DataTypeName = WithoutModifiers(set.DataTypeNames[column]),
            };
            replay.Parameters.Add(parameter);
            return "@" + parameter.ParameterName;
        }

        if (set.Rows.Count == 0)
        {
            sql.Append("SELECT ");
            for (var c = 0; c < set.Names.Length; c++)
            {
                sql.Append(c > 0 ? ", " : "").Append(Parameter(null, c)).Append(" AS ").Append(Quote(set.Names[c]));
            }
            sql.Append(" WHERE false");
            return;
        }
        sql.Append("SELECT * FROM (VALUES ");
        for (var r = 0; r < set.Rows.Count; r++)
        {
            sql.Append(r > 0 ? ", (" : "(");
            for (var c = 0; c < set.Names.Length; c++)
            {
                sql.Append(c > 0 ? ", " : "").Append(Parameter(set.Rows[r][c], c));
            }
            sql.Append(')');
        }
        sql.Append(") AS replay(").AppendJoin(", ", set.Names.Select(Quote)).Append(')');
    }

    // The counter table lives in the session's temporary schema; a rolled-back transaction may have
    // taken it with it, so it is (re)made on demand, outside the replay statement itself.
    private static async Task EnsureCounterRowsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int rows, CancellationToken cancellationToken)
    {
        var ensure = new NpgsqlCommand(
            $"CREATE TEMP TABLE IF NOT EXISTS atproxy_replay_rows (n int PRIMARY KEY);" +
            $"INSERT INTO {CounterTable} SELECT g FROM generate_series(1, @rows) g ON CONFLICT DO NOTHING", connection, transaction);
        await using var ensureDisposal = ensure.ConfigureAwait(false);
        ensure.Parameters.AddWithValue("rows", rows);
        await ensure.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string WithoutModifiers(string dataTypeName) => Modifiers().Replace(dataTypeName, "");

    private static string Quote(string identifier) => PostgresIdentifier.Quote(identifier);

    [GeneratedRegex(@"\(\d+(,\s*\d+)?\)")]
    private static partial Regex Modifiers();
}
