using AtProxy.Cli.Undo;
using AtProxy.Protocol.Undo;
using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>One undo-log row in a listing, as JSON.</summary>
/// <remarks>
/// <c>transaction</c> is how its global transaction ended: open, committed, rolling-back, rolled-back,
/// rollback-failed, commit-failed, finished or unknown; <c>transactionStatus</c> the coordinator's status
/// (null when it does not know the XID or could not be asked); <c>transactionDetail</c> the same in words.
/// </remarks>
internal sealed record UndoSummaryJson(
    string Xid, long BranchId, string Status, string Context, int SizeBytes, DateTimeOffset CreatedAt, DateTimeOffset ModifiedAt, long AgeMs,
    int Records, int Rows, IReadOnlyList<string> Tables, string? Error, string Transaction, string? TransactionStatus, string TransactionDetail);

/// <summary>A column of an undo record, as JSON.</summary>
internal sealed record UndoColumnJson(string Name, string DataType, bool Generated);

/// <summary>
/// One row's before, after and current values, as JSON: <c>before</c> or <c>after</c> is null when
/// the row did not exist then; <c>current</c> is null when it does not exist now or was not read
/// (<c>currentState</c> null); <c>dirty</c> lists the columns that now differ from <c>after</c>.
/// </summary>
internal sealed record UndoRowJson(
    IReadOnlyDictionary<string, string?> Key, IReadOnlyDictionary<string, string?>? Before, IReadOnlyDictionary<string, string?>? After,
    IReadOnlyList<string> Changed, IReadOnlyDictionary<string, string?>? Current, string? CurrentState, IReadOnlyList<string> Dirty);

/// <summary>One statement's undo record, as JSON.</summary>
internal sealed record UndoRecordJson(
    int Index, string Schema, string Table, string Kind, IReadOnlyList<string> PrimaryKey, IReadOnlyList<UndoColumnJson> Columns, IReadOnlyList<UndoRowJson> Rows);

/// <summary>One undo-log row in full, as JSON.</summary>
internal sealed record UndoDetailJson(
    string Xid, long BranchId, string Status, string Context, DateTimeOffset CreatedAt, DateTimeOffset ModifiedAt, string? Error, IReadOnlyList<UndoRecordJson> Records,
    string Transaction, string? TransactionStatus, string TransactionDetail, string Advice);

/// <summary>
/// One row of a branch's undo images from its resource manager, as JSON: as <see cref="UndoRowJson"/>, with the
/// table, the operation ("insert", "update", "delete") and whether anything in the row is dirty.
/// </summary>
internal sealed record UndoImageRowJson(
    string Table, string Operation, IReadOnlyDictionary<string, string?> Key, IReadOnlyDictionary<string, string?>? Before, IReadOnlyDictionary<string, string?>? After,
    IReadOnlyList<string> Changed, IReadOnlyDictionary<string, string?>? Current, string? CurrentState, IReadOnlyList<string> Dirty, bool RowDirty);

/// <summary>One branch's undo images from its resource manager, as JSON (<c>atproxy undo show XID</c> without <c>--db</c>).</summary>
internal sealed record UndoImagesJson(
    string Xid, long BranchId, string ResourceId, string InstanceId, bool UndoFound, bool Truncated,
    string Transaction, string? TransactionStatus, string TransactionDetail, IReadOnlyList<UndoImageRowJson> Rows);

/// <summary>The undo log of a resource database, as tables or JSON.</summary>
internal static class UndoViews
{
    private static readonly Style ChangedStyle = new(Color.Yellow, decoration: Decoration.Bold);
    private static readonly Style NullStyle = new(Color.Grey, decoration: Decoration.Italic);
    private static readonly Style DirtyStyle = new(Color.Red, decoration: Decoration.Bold);

    public static void RenderList(CliOutput output, IReadOnlyList<UndoLogRow> rows, IReadOnlyDictionary<string, TransactionOutcome> outcomes, DateTimeOffset now)
    {
        TransactionOutcome OutcomeOf(UndoLogRow row) => outcomes.GetValueOrDefault(row.Xid) ?? new TransactionOutcome(OutcomeKind.Unreachable, null);
        if (output.IsJson)
        {
            output.WriteJson(rows.Select(r => new UndoSummaryJson(
                r.Xid, r.BranchId, r.StatusName, r.Context, r.SizeBytes, r.Created, r.Modified, Formats.AgeMs(r.Created.ToUnixTimeMilliseconds(), now),
                r.Log?.Records.Count ?? 0, r.Log?.Records.Sum(RowCount) ?? 0, Tables(r), r.DecodeError,
                OutcomeOf(r).Token, StatusName(OutcomeOf(r)), OutcomeOf(r).Text)).ToList());
            return;
        }
        if (rows.Count == 0)
        {
            output.Console.WriteLine("No undo rows.");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("xid", "branch", "status", "transaction", "records", "rows", "tables", "bytes", "created", "age");
        foreach (var r in rows)
        {
            table.AddRow(
                new Text(r.Xid, new Style(decoration: Decoration.Bold)), new Text(Formats.Number(r.BranchId)),
                new Text(r.StatusName, r.IsGlobalFinishedMarker ? new Style(Color.Grey) : Style.Plain),
                new Text(OutcomeOf(r).Text, r.IsGlobalFinishedMarker ? new Style(Color.Grey) : OutcomeStyle(OutcomeOf(r))),
                new Text(Formats.Number(r.Log?.Records.Count ?? 0)), new Text(Formats.Number(r.Log?.Records.Sum(RowCount) ?? 0)),
                r.DecodeError is { } error ? new Text($"unreadable: {error}", new Style(Color.Red)) : new Text(string.Join(", ", Tables(r))),
                new Text(Formats.Number(r.SizeBytes)), new Text(Formats.Timestamp(r.Created)),
                new Text(Formats.Duration(Formats.AgeMs(r.Created.ToUnixTimeMilliseconds(), now))));
        }
        output.Console.Write(table);
        output.Console.WriteLine($"{rows.Count} undo row(s), oldest first. Show one with 'atproxy undo show --db ... XID [BRANCH]'.");
    }

    public static void RenderDetail(CliOutput output, IReadOnlyList<UndoDetail> details)
    {
        if (output.IsJson)
        {
            output.WriteJson(details.Select(ToJson).ToList());
            return;
        }
        var console = output.Console;
        foreach (var detail in details)
        {
            var r = detail.Row;
            var outcome = detail.Outcome;
            var transaction = outcome is null ? "" : $" · transaction {Markup.Escape(outcome.Text)}";
            console.Write(new Rule($"[bold]{Markup.Escape(r.Xid)}[/] branch {r.BranchId} · {Markup.Escape(r.StatusName)}{transaction} · created {Formats.Timestamp(r.Created)}").LeftJustified());
            if (outcome is not null && !r.IsGlobalFinishedMarker)
            {
                console.Write(new Text(outcome.Advice(r) + Environment.NewLine, OutcomeStyle(outcome)));
            }
            if (r.IsGlobalFinishedMarker)
            {
                console.WriteLine("Global-finished marker: the transaction was rolled back before this branch's phase 1 committed; there is nothing to undo.");
                continue;
            }
            if (r.DecodeError is { } error)
            {
                console.Write(new Text($"Cannot read this row's undo records: {error}.{Environment.NewLine}", new Style(Color.Red)));
                continue;
            }
            for (var i = 0; i < detail.Records.Count; i++)
            {
                var record = detail.Records[i];
                console.WriteLine($"#{i + 1} {Formats.EnumName(record.Record.Kind)} {record.Record.Schema}.{record.Record.Table}: {record.Rows.Count} row(s)");
                foreach (var change in record.Rows)
                {
                    // A line of its own, not the table's title: a title wraps at the table's width.
                    console.Write(new Text(Heading(change) + Environment.NewLine, new Style(decoration: Decoration.Bold)));
                    console.Write(RowTable(change.Image, change.Columns, NowOf(change)));
                }
            }
        }
        console.WriteLine(Legend);
    }

    private const string Legend =
        "before = what rollback restores; after = what phase 1 wrote; now = the row today; * = changed by the statement; ! = now differs from after (a dirty write).";

    /// <summary>Undo images the resource managers read, through the coordinator: the same row tables, without the column types.</summary>
    public static void RenderImages(CliOutput output, IReadOnlyList<BranchImages> branches, bool showCurrent)
    {
        if (output.IsJson)
        {
            output.WriteJson(branches.Select(b => ToJson(b, showCurrent)).ToList());
            return;
        }
        var console = output.Console;
        foreach (var branch in branches)
        {
            var images = branch.Images;
            console.Write(new Rule(
                $"[bold]{Markup.Escape(branch.Xid)}[/] branch {branch.Branch.BranchId} · {Markup.Escape(images.ResourceId)} · transaction {Markup.Escape(branch.Outcome.Text)} · read by {Markup.Escape(images.InstanceId)}").LeftJustified());
            if (!images.UndoFound)
            {
                console.WriteLine("No undo record for this branch in its database: its phase 1 never committed locally, or phase 2 already removed it.");
                continue;
            }
            string? group = null;
            foreach (var row in images.Rows)
            {
                var heading = $"{row.Operation.ToUpperInvariant()} {row.Table}";
                if (heading != group)
                {
                    group = heading;
                    console.WriteLine($"{heading}: {images.Rows.Count(r => $"{r.Operation.ToUpperInvariant()} {r.Table}" == heading)} row(s)");
                }
                console.Write(new Text(Heading(row, branch.Outcome, showCurrent) + Environment.NewLine, new Style(decoration: Decoration.Bold)));
                console.Write(RowTable(row, columns: null, showCurrent ? NowColumn.Shown : NowColumn.Hidden));
            }
            if (images.Truncated)
            {
                console.Write(new Text($"Only the first {images.Rows.Count} rows are shown: a resource manager answers with at most 1,000 rows (3 MiB). Read the rest with --db.{Environment.NewLine}", new Style(Color.Yellow)));
            }
        }
        console.WriteLine(Legend);
    }

    private static string Heading(UndoRowImage row, TransactionOutcome outcome, bool showCurrent)
    {
        var keyColumns = row.Cells.Where(c => c.PrimaryKey).Select(c => c.Column).ToList();
        var key = string.Join(", ", keyColumns.Select((name, i) => $"{name}={RowChange.Display(i < row.PrimaryKey.Count ? row.PrimaryKey[i] : null)}"));
        var state = row.Operation switch
        {
            "insert" => " (inserted: rollback deletes it)",
            "delete" => " (deleted: rollback inserts it again)",
            _ => "",
        };
        return showCurrent ? $"{key}{state} · now {RowState.Describe(row, outcome)}" : key + state;
    }

    private static string Heading(RowChange change)
    {
        var state = (change.Before, change.After) switch
        {
            (null, _) => " (inserted: rollback deletes it)",
            (_, null) => " (deleted: rollback inserts it again)",
            _ => "",
        };
        return change.CurrentState is { } now ? $"{change.KeyText}{state} · now {now}" : change.KeyText + state;
    }

    // How a row table's "now" column shows: not at all, unreadable, or the values read.
    private enum NowColumn
    {
        Hidden,
        Unreadable,
        Shown,
    }

    private static NowColumn NowOf(RowChange change) =>
        change.Current is null ? NowColumn.Hidden : change.Current.Error is not null ? NowColumn.Unreadable : NowColumn.Shown;

    // One table per row, the same whether the CLI read the database or the resource manager did:
    // column (and type, when known), before, after, now, changed, dirty.
    private static Table RowTable(UndoRowImage image, IReadOnlyList<UndoColumn>? columns, NowColumn now)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("column");
        if (columns is not null)
        {
            table.AddColumn("type");
        }
        table.AddColumns("before", "after");
        if (now != NowColumn.Hidden)
        {
            table.AddColumn("now");
        }
        table.AddColumn("changed");
        if (now != NowColumn.Hidden)
        {
            table.AddColumn("dirty");
        }
        for (var i = 0; i < image.Cells.Count; i++)
        {
            var cell = image.Cells[i];
            var cells = new List<Spectre.Console.Rendering.IRenderable> { new Text(cell.Column, cell.Changed ? ChangedStyle : Style.Plain) };
            if (columns is not null)
            {
                cells.Add(new Text(columns[i].Generated ? $"{columns[i].DataType} (generated)" : columns[i].DataType, new Style(Color.Grey)));
            }
            cells.Add(Cell(cell.Before, cell.Changed ? ChangedStyle : Style.Plain));
            cells.Add(Cell(cell.After, cell.Changed ? ChangedStyle : Style.Plain));
            if (now == NowColumn.Unreadable)
            {
                cells.Add(new Text("?", NullStyle));
            }
            else if (now == NowColumn.Shown)
            {
                cells.Add(image.ExistsNow ? Cell(cell.Current, cell.Dirty ? DirtyStyle : Style.Plain, cell.Dirty ? DirtyStyle : NullStyle) : new Text("-", new Style(Color.Grey)));
            }
            cells.Add(new Text(cell.Changed ? "*" : "", ChangedStyle));
            if (now != NowColumn.Hidden)
            {
                cells.Add(new Text(cell.Dirty ? "!" : "", DirtyStyle));
            }
            table.AddRow(cells);
        }
        return table;
    }

    // "-" when the image does not exist (an inserted row's before), NULL for SQL NULL, else the text.
    private static Text Cell(UndoValue? value, Style style, Style? nullStyle = null) =>
        value is null ? new Text("-", new Style(Color.Grey))
        : UndoValueComparison.TextOf(value) is { } text ? new Text(text, style)
        : new Text("NULL", nullStyle ?? NullStyle);

    private static UndoDetailJson ToJson(UndoDetail detail)
    {
        var outcome = detail.Outcome ?? new TransactionOutcome(OutcomeKind.Unreachable, null);
        return new(
            detail.Row.Xid, detail.Row.BranchId, detail.Row.StatusName, detail.Row.Context, detail.Row.Created, detail.Row.Modified, detail.Row.DecodeError,
            [.. detail.Records.Select((record, index) => new UndoRecordJson(
                index + 1, record.Record.Schema, record.Record.Table, Formats.EnumName(record.Record.Kind), [.. record.Record.PrimaryKey],
                [.. record.Record.Columns.Select(c => new UndoColumnJson(c.Name, c.DataType, c.Generated))],
                [.. record.Rows.Select(ToJson)]))],
            outcome.Token, StatusName(outcome), outcome.Text,
            detail.Row.IsGlobalFinishedMarker ? "Global-finished marker: nothing to undo." : outcome.Advice(detail.Row));
    }

    private static string? StatusName(TransactionOutcome outcome) => outcome.Status is { } status ? Formats.EnumName(status) : null;

    private static Style OutcomeStyle(TransactionOutcome outcome) => outcome.Kind switch
    {
        OutcomeKind.RollbackFailed or OutcomeKind.CommitFailed or OutcomeKind.RollbackRetryTimeout or OutcomeKind.RolledBack => new Style(Color.Red, decoration: Decoration.Bold),
        OutcomeKind.Unknown or OutcomeKind.Unreachable => new Style(Color.Yellow),
        OutcomeKind.Committed => new Style(Color.Green),
        _ => Style.Plain,
    };

    private static UndoImagesJson ToJson(BranchImages branch, bool showCurrent)
    {
        static Dictionary<string, string?>? Values(UndoRowImage row, Func<UndoCell, UndoValue?> value) =>
            row.Cells.Any(c => value(c) is null) ? null : row.Cells.ToDictionary(c => c.Column, c => UndoValueComparison.TextOf(value(c)), StringComparer.Ordinal);
        var images = branch.Images;
        return new UndoImagesJson(
            branch.Xid, branch.Branch.BranchId, images.ResourceId, images.InstanceId, images.UndoFound, images.Truncated,
            branch.Outcome.Token, StatusName(branch.Outcome), branch.Outcome.Text,
            [.. images.Rows.Select(row => new UndoImageRowJson(
                row.Table, row.Operation,
                row.Cells.Where(c => c.PrimaryKey).Select((c, i) => (c.Column, Value: i < row.PrimaryKey.Count ? row.PrimaryKey[i] : null)).ToDictionary(p => p.Column, p => p.Value, StringComparer.Ordinal),
                Values(row, c => c.Before), Values(row, c => c.After),
                [.. row.Cells.Where(c => c.Changed).Select(c => c.Column)],
                showCurrent && row.ExistsNow ? Values(row, c => c.Current) : null,
                showCurrent ? RowState.Describe(row, branch.Outcome) : null,
                [.. row.Cells.Where(c => showCurrent && c.Dirty).Select(c => c.Column)],
                showCurrent && row.Dirty))]);
    }

    private static UndoRowJson ToJson(RowChange change)
    {
        Dictionary<string, string?>? Values(UndoRow? row) =>
            row is null ? null : change.Columns.Select((c, i) => (c.Name, Value: RowChange.Value(row, i))).ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        var keyRow = change.Before ?? change.After;
        return new UndoRowJson(
            change.KeyColumns.ToDictionary(i => change.Columns[i].Name, i => RowChange.Value(keyRow, i), StringComparer.Ordinal),
            Values(change.Before), Values(change.After),
            [.. change.Columns.Where((_, i) => change.Changed[i]).Select(c => c.Name)],
            change.Current?.Values is { } now ? change.Columns.Select((c, i) => (c.Name, Value: now[i])).ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal) : null,
            change.CurrentState,
            [.. change.Columns.Where((_, i) => change.IsDirty(i)).Select(c => c.Name)]);
    }

    private static int RowCount(UndoRecord record) => Math.Max(record.Before.Count, record.After.Count);

    private static List<string> Tables(UndoLogRow row) =>
        row.Log is null ? [] : [.. row.Log.Records.Select(r => $"{r.Schema}.{r.Table}").Distinct(StringComparer.Ordinal)];
}
