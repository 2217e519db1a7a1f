using System.Collections.Concurrent;
using AtProxy.Metadata;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AtProxy.Resources;

/// <summary>
/// Warns, once per table, when a table's BEFORE triggers would rewrite a rollback's restores and the
/// resource's role may not suppress them: a rollback of such a table's rows then stops for a person.
/// Found when the table is first written, not at the first rollback.
/// </summary>
internal sealed class TriggerSuppressionCheck
{
    private readonly ConcurrentDictionary<string, byte> _checked = new(StringComparer.Ordinal);
    private Task<bool>? _maySuppress;

    /// <summary>Checks in the background; the statement does not wait.</summary>
    public void Check(Resource resource, TableMetadata table, ILoggerFactory loggers)
    {
        if (table.BeforeWriteTriggers.Count == 0 || !_checked.TryAdd(table.CanonicalName, 0))
        {
            return;
        }
        _ = WarnAsync(resource, table, loggers.CreateLogger("AtProxy.Resources"));
    }

    private async Task WarnAsync(Resource resource, TableMetadata table, ILogger logger)
    {
        try
        {
            var maySuppress = await LazyInitializer.EnsureInitialized(ref _maySuppress, () => ProbeAsync(resource)).ConfigureAwait(false);
            if (!maySuppress)
            {
                logger.LogWarning(
                    "Table {Table} of {Resource} has BEFORE trigger(s) {Triggers}, which fire again when a rollback restores its rows; this role may not " +
                    "suppress them, so such a rollback stops for a person (RollbackFailed) instead of restoring the row exactly. Grant it: " +
                    "GRANT SET ON PARAMETER session_replication_role TO <role> (PostgreSQL 15 and later; a superuser may already).",
                    table.CanonicalName, resource.Id, string.Join(", ", table.BeforeWriteTriggers));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogDebug(ex, "Could not check whether {Resource}'s role may suppress triggers", resource.Id);
        }
    }

    // The rollback's own test: may this role set session_replication_role?
    private static async Task<bool> ProbeAsync(Resource resource)
    {
        var connection = await resource.OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        await using var transactionDisposal = transaction.ConfigureAwait(false);
        var command = connection.CreateCommand();
        await using var commandDisposal = command.ConfigureAwait(false);
        command.Transaction = transaction;
        command.CommandText = "SET LOCAL session_replication_role = replica";
        try
        {
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return false;
        }
        finally
        {
            await transaction.RollbackAsync().ConfigureAwait(false);
        }
    }
}
