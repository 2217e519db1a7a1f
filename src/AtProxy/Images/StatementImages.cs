using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
using AtProxy.Undo;

namespace AtProxy.Images;

/// <summary>
/// Checks and completes the images one statement produced: every row it wrote must be in its before
/// image, and its after image must be the rows as the statement left them.
/// </summary>
internal static class StatementImages
{
    /// <summary>
    /// The statement reports the rows it wrote: under READ COMMITTED it takes a newer snapshot than
    /// the before image did and may reach a row committed in between, which the undo log would miss.
    /// Throws when it did (the local transaction is then not committed).
    /// </summary>
    public static void EnsureBeforeImageCovers(DmlStatement statement, TableMetadata table, HashSet<string> imagedKeys, List<WrittenRow> written)
    {
        var unimaged = written.Count(row => !imagedKeys.Contains(LockKeyFormatter.Format(row.Key)));
        if (unimaged > 0)
        {
            throw new AtProxyException(
                $"The {statement.Kind.ToString().ToUpperInvariant()} at line {statement.Line}, column {statement.Column} wrote {unimaged} row(s) of {table.CanonicalName} " +
                "that its before image did not see (committed by another transaction in between, or chosen by a volatile function). " +
                "Its local transaction was not committed; run it again.");
        }
    }

    /// <summary>
    /// The after image: the rows the statement wrote, each once, marked inserted or updated. RETURNING
    /// prints a row before AFTER triggers run; where one may write the row again, the after image is
    /// the row as the statement left it, read back (else rollback would see a dirty write).
    /// </summary>
    public static async Task<List<UndoRow>> AfterImageAsync(ImageReader image, List<WrittenRow> written, bool inserts, CancellationToken cancellationToken)
    {
        var returned = DistinctRows(written, inserts).ToList();
        if (!image.Table.RewrittenAfterWrite || returned.Count == 0)
        {
            return returned;
        }
        var now = await image.ReadRowsAsync(returned.Select(row => image.Dialect.KeyOf(image.Table, row)).ToList(), cancellationToken).ConfigureAwait(false);
        return returned.Select(row =>
        {
            var key = LockKeyFormatter.Format(image.Dialect.KeyOf(image.Table, row));
            // A row an AFTER trigger deleted again leaves nothing to restore from the after image; keep what was returned.
            var reread = now.TryGetValue(key, out var current) ? current : row;
            reread.Inserted = row.Inserted;
            return reread;
        }).ToList();
    }

    private static IEnumerable<UndoRow> DistinctRows(List<WrittenRow> written, bool inserts)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in written)
        {
            if (row.Row is { } image && seen.Add(LockKeyFormatter.Format(row.Key)))
            {
                image.Inserted = inserts && row.Inserted;
                yield return image;
            }
        }
    }
}
