using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>The global row locks, oldest first, filtered and paged.</summary>
internal sealed class LocksModel : ConsolePage
{
    public const int PageSize = 100;

    [BindProperty(SupportsGet = true)]
    public string? Resource { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Table { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? KeyPrefix { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Xid { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? PageToken { get; set; }

    public IReadOnlyList<LockInfo> Locks { get; private set; } = [];

    public string? NextPageToken { get; private set; }

    public string? Error { get; private set; }

    public async Task OnGetAsync()
    {
        try
        {
            var page = await Admin.ListLocksAsync(new ListLocksRequest
            {
                ResourceId = Resource?.Trim() ?? "",
                Table = Table?.Trim() ?? "",
                PrimaryKeyPrefix = KeyPrefix ?? "",
                Xid = Xid?.Trim() ?? "",
                PageSize = PageSize,
                PageToken = PageToken ?? "",
            });
            Locks = page.Locks;
            NextPageToken = page.NextPageToken;
        }
        catch (RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.InvalidArgument)
        {
            Error = ex.Status.Detail;
        }
    }

    /// <summary>This list with the same filters, at another page.</summary>
    public string LinkTo(string? pageToken) =>
        PageLink.To("/locks", ("resource", Resource), ("table", Table), ("keyPrefix", KeyPrefix), ("xid", Xid), ("pageToken", pageToken));
}
