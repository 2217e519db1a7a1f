using System.CommandLine;
using AtProxy.Cli.Rendering;
using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Commands;

/// <summary><c>atproxy locks list</c>: which rows are globally locked, by whom, since when.</summary>
internal static class LocksCommands
{
    public static Command Create()
    {
        var resource = new Option<string?>("--resource") { Description = "Only locks of this resource id (e.g. orders-db).", HelpName = "ID" };
        var table = new Option<string?>("--table") { Description = "Only locks on this table, as the proxy names it (e.g. public.stock).", HelpName = "SCHEMA.TABLE" };
        var keyPrefix = new Option<string?>("--key-prefix") { Description = "Only locks whose primary key text starts with this.", HelpName = "TEXT" };
        var xid = new Option<string?>("--xid") { Description = "Only locks held by this global transaction.", HelpName = "XID" };
        var paging = new PagingOptions();

        var list = new Command("list", "List global row locks, oldest first: resource, table, key, XID, branch, application, age.");
        list.Add(resource);
        list.Add(table);
        list.Add(keyPrefix);
        list.Add(xid);
        paging.AddTo(list);
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = CliContext.From(parseResult);
            using var admin = context.ConnectToCoordinator();
            var (locks, next) = await paging.FetchAsync<LockInfo>(parseResult, async (size, token) =>
            {
                var response = await admin.ListLocksAsync(new ListLocksRequest
                {
                    ResourceId = parseResult.GetValue(resource) ?? "",
                    Table = parseResult.GetValue(table) ?? "",
                    PrimaryKeyPrefix = parseResult.GetValue(keyPrefix) ?? "",
                    Xid = parseResult.GetValue(xid) ?? "",
                    PageSize = size,
                    PageToken = token,
                }, cancellationToken);
                return (response.Locks, response.NextPageToken);
            });
            LockViews.Render(context.Output, locks, next, DateTimeOffset.UtcNow);
            return ExitCodes.Success;
        });

        return new Command("locks", "Global row locks held by the coordinator.") { list };
    }
}
