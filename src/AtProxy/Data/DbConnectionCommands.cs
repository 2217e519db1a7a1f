using System.Data.Common;

namespace AtProxy;

/// <summary>Statements AtProxy runs itself (savepoints, settings, restores), with no result to read.</summary>
internal static class DbConnectionCommands
{
    /// <summary>Runs <paramref name="sql"/> on the provider's own connection inside <paramref name="transaction"/>.</summary>
    public static async Task RunAsync(this DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
