using AtProxy.Protocol.V1;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>A global row lock as JSON.</summary>
internal sealed record LockJson(
    string ResourceId, string Table, string PrimaryKey, string Xid, long BranchId, string ApplicationId, DateTimeOffset AcquiredAt, long AgeMs);

/// <summary>A page of locks as JSON; <c>nextPageToken</c> is null on the last page.</summary>
internal sealed record LocksPageJson(IReadOnlyList<LockJson> Locks, string? NextPageToken);

/// <summary>Global row locks as a table or as JSON.</summary>
internal static class LockViews
{
    public static LockJson ToJson(LockInfo l, DateTimeOffset now) => new(
        l.ResourceId, l.Key.Table, l.Key.PrimaryKey, l.Xid, l.BranchId, l.ApplicationId, Formats.FromUnixMs(l.AcquiredUnixMs), Formats.AgeMs(l.AcquiredUnixMs, now));

    public static Table Table(IEnumerable<LockInfo> locks, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("resource", "table", "key", "xid", "branch", "application", "age");
        table.Columns[4].RightAligned();
        table.Columns[6].RightAligned();
        foreach (var l in locks)
        {
            table.AddRow(
                new Text(l.ResourceId), new Text(l.Key.Table), new Text(l.Key.PrimaryKey, new Style(decoration: Decoration.Bold)),
                new Text(l.Xid), new Text(Formats.Number(l.BranchId)), new Text(l.ApplicationId),
                new Text(Formats.Duration(Formats.AgeMs(l.AcquiredUnixMs, now))));
        }
        return table;
    }

    public static void Render(CliOutput output, IReadOnlyList<LockInfo> locks, string? nextPageToken, DateTimeOffset now)
    {
        if (output.IsJson)
        {
            output.WriteJson(new LocksPageJson([.. locks.Select(l => ToJson(l, now))], nextPageToken));
            return;
        }
        if (locks.Count == 0)
        {
            output.Console.WriteLine("No global locks held.");
        }
        else
        {
            output.Console.Write(Table(locks, now));
            output.Console.WriteLine($"{locks.Count} lock(s), oldest first.");
        }
        Paging.RenderHint(output, nextPageToken);
    }
}
