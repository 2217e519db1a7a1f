using AtProxy.Protocol.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;

namespace AtProxy.Coordinator.OperatorConsole.Pages;

/// <summary>The transactions the coordinator holds, oldest first, filtered and paged; or one found by XID.</summary>
internal sealed class TransactionsModel : ConsolePage
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Name { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Application { get; set; }

    [BindProperty(SupportsGet = true)]
    public long? OlderThanMinutes { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Xid { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? PageToken { get; set; }

    public IReadOnlyList<GlobalTransactionInfo> Transactions { get; private set; } = [];

    public string? NextPageToken { get; private set; }

    public string? Error { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        if (!string.IsNullOrWhiteSpace(Xid))
        {
            return Redirect($"/transaction?xid={Uri.EscapeDataString(Xid.Trim())}");
        }
        var request = new ListTransactionsRequest
        {
            Name = Name?.Trim() ?? "",
            ApplicationId = Application?.Trim() ?? "",
            OlderThanMs = Math.Max(0, OlderThanMinutes ?? 0) * 60_000,
            PageSize = PageSize,
            PageToken = PageToken ?? "",
        };
        request.Statuses.Add(StatusFilter.Of(Status));
        try
        {
            var page = await Admin.ListTransactionsAsync(request);
            Transactions = page.Transactions;
            NextPageToken = page.NextPageToken;
        }
        catch (RpcException ex)
        {
            Error = ex.Status.Detail;
        }
        return Page();
    }

    /// <summary>This list with the same filters, at another page.</summary>
    public string LinkTo(string? pageToken) => PageLink.To("/transactions",
        ("status", Status), ("name", Name), ("application", Application),
        ("olderThanMinutes", OlderThanMinutes?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("pageToken", pageToken));
}
