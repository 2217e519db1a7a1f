using AtProxy.Images;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using AtProxy.Resources;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Phase2;

/// <summary>
/// A branch's undo images for an operator (Admin.GetBranchUndo, asked over the phase-2 stream): its
/// undo record decoded, each row read now by primary key, and per value whether the branch changed it
/// and whether it was written since. Read-only: one snapshot (repeatable read), no row locks, so
/// neither phase 2 nor the application waits for it. The comparison is rollback's own
/// (<see cref="UndoValueComparison"/>), so what is marked dirty here is what a rollback refuses.
/// </summary>
internal static class UndoImagesReader
{
    /// <summary>At most this many rows in one answer.</summary>
    public const int MaxRows = 1000;

    /// <summary>At most about this many bytes of rows in one answer: under gRPC's default 4 MiB message limit.</summary>
    public const int MaxBytes = 3 * 1024 * 1024;

    /// <summary>The images of branch <paramref name="branchId"/> of <paramref name="xid"/> in the resource's database.</summary>
    public static async Task<GetBranchUndoResponse> ReadAsync(Resource resource, string xid, long branchId, CancellationToken cancellationToken)
    {
        var response = new GetBranchUndoResponse { ResourceId = resource.Id };
        await resource.EnsureUndoLogAsync(cancellationToken).ConfigureAwait(false);
        var connection = await resource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        // One snapshot for the undo row and the current rows; read-only, so it cannot take a lock by mistake.
        var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using var transactionDisposal = transaction.ConfigureAwait(false);
        await connection.RunAsync(transaction, "SET TRANSACTION READ ONLY", cancellationToken).ConfigureAwait(false);
        // Keys are parsed back under the settings they were printed in (see CanonicalText).
        await connection.RunAsync(transaction, CanonicalText.PinSettingsSql(lockTimeout: "5s"), cancellationToken).ConfigureAwait(false);

        var row = await resource.UndoLog.ReadAsync(connection, transaction, xid, branchId, cancellationToken).ConfigureAwait(false);
        if (row is null || row.Value.Status == UndoLogStatus.GlobalFinished)
        {
            return response; // never committed locally, rolled back already, or phase 2 removed it
        }
        if (!UndoLogCodec.TryDecode(row.Value.RollbackInfo, row.Value.Context, out var log, out var problem))
        {
            throw new AtProxyException($"The undo log row of branch {branchId} of {xid} cannot be read: {problem}.");
        }
        response.UndoFound = true;
        var form = UndoLogCodec.IsPinnedText(log) ? ImageForm.Canonical : ImageForm.SessionText;
        if (form == ImageForm.SessionText)
        {
            // Written before images were canonical: read in the session's own settings, as rollback does.
            await connection.RunAsync(transaction, CanonicalText.UnpinSettingsSql, cancellationToken).ConfigureAwait(false);
        }

        // Rollback undoes the statements last first: a row a later statement wrote again is that one's to compare.
        var writtenLater = new HashSet<string>(StringComparer.Ordinal);
        var images = new List<UndoRowImage>[log.Records.Count];
        for (var r = log.Records.Count - 1; r >= 0; r--)
        {
            images[r] = await ImagesOfAsync(resource.Dialect, connection, transaction, log.Records[r], form, writtenLater, cancellationToken).ConfigureAwait(false);
        }
        var bytes = 0;
        foreach (var image in images.SelectMany(i => i))
        {
            var size = image.CalculateSize();
            if (response.Rows.Count == MaxRows || bytes + size > MaxBytes)
            {
                response.Truncated = true;
                break;
            }
            bytes += size;
            response.Rows.Add(image);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return response;
    }

    private static async Task<List<UndoRowImage>> ImagesOfAsync(ISqlDialect dialect, System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction,
        UndoRecord record, ImageForm form, HashSet<string> writtenLater, CancellationToken cancellationToken)
    {
        var rows = UndoRecordRow.Of(record);
        var table = UndoRecordTable.TableOf(record);
        string KeyText(UndoRow row) => LockKeyFormatter.Format(dialect.KeyOf(table, row));
        var current = new Dictionary<string, UndoRow>(StringComparer.Ordinal);
        // Reads stop at the answer's row limit: a bulk statement's rows beyond it are not shown anyway.
        var shown = rows.Take(MaxRows).ToList();
        if (shown.Count > 0)
        {
            var command = connection.CreateCommand();
            await using var commandDisposal = command.ConfigureAwait(false);
            command.Transaction = transaction;
            dialect.BuildCurrentRows(table, shown.Select(r => dialect.KeyOf(table, (r.Before ?? r.After)!)).ToList(), form).Apply(command);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var found = RowImage.Read(reader, table.Columns.Count, form);
                current[KeyText(found)] = found;
            }
        }
        var images = new List<UndoRowImage>(shown.Count);
        var writtenHere = new List<string>(shown.Count);
        foreach (var row in shown)
        {
            var key = $"{record.Schema}.{record.Table}:{KeyText((row.Before ?? row.After)!)}";
            current.TryGetValue(KeyText((row.Before ?? row.After)!), out var now);
            images.Add(row.ToImage(now, writtenAgainLater: writtenLater.Contains(key)));
            writtenHere.Add(key);
        }
        writtenLater.UnionWith(writtenHere);
        return images;
    }
}
