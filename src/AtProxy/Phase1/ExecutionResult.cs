using System.Data;
using System.Data.Common;

namespace AtProxy.Phase1;

/// <summary>What the phase-1 engine hands back to the ADO.NET surface, shaped for the execute method called.</summary>
internal sealed class ExecutionResult(IReadOnlyList<BufferedResultSet> resultSets)
{
    public IReadOnlyList<BufferedResultSet> ResultSets { get; } = resultSets;

    /// <summary>Rows changed by all statements, as ExecuteNonQuery reports it (-1 when none was a write).</summary>
    public int RecordsAffected
    {
        get
        {
            var total = -1;
            foreach (var set in ResultSets)
            {
                if (set.RecordsAffected >= 0)
                {
                    total = Math.Max(total, 0) + set.RecordsAffected;
                }
            }
            return total;
        }
    }

    public object? Scalar()
    {
        foreach (var set in ResultSets)
        {
            if (set.Names.Length > 0)
            {
                return set.Rows.Count > 0 ? set.Rows[0][0] : null;
            }
        }
        return null;
    }

    public DbDataReader Reader(CommandBehavior behavior, DbConnection? connection) =>
        new BufferedDataReader(ResultSets, behavior.HasFlag(CommandBehavior.CloseConnection) ? connection : null);
}
