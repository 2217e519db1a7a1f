using AtProxy.Console.Tests.Support;
using AtProxy.Protocol.V1;
using AtProxy.Testing;

namespace AtProxy.Console.Tests;

/// <summary>
/// The 3 a.m. case in the browser: a rollback stopped by a dirty write is found on the overview,
/// read in its undo images, repaired by hand in the database and retried from the console until
/// the rows are restored and nothing is left behind.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class DirtyWriteRepairTests(ConsoleEnvironment env)
{
    [Fact]
    public async Task A_rollback_stopped_by_a_dirty_write_is_found_read_repaired_and_retried_from_the_console()
    {
        const string sku = "console-repair";
        string xid;
        await using (var gtx = await env.BeginDirtiedTransactionAsync(sku))
        {
            xid = gtx.Xid;
            var failure = await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
            Assert.Equal(GlobalTransactionStatus.RollbackFailed, failure.Status);
        }
        var browser = env.Browser;

        // Found on the overview: counted as ROLLBACK_FAILED, listed among the oldest unfinished.
        browser.Open("/");
        Assert.Contains("ROLLBACK_FAILED", browser.Find("#by-status").Text);
        browser.ClickAndWait($"tr[data-xid='{xid}'] a");
        Assert.Equal($"/transaction?xid={Uri.EscapeDataString(xid)}", browser.Path);

        // The transaction: stopped, its branch's dirty write, its lock, and the dirty value read from the database now.
        Assert.Equal("ROLLBACK_FAILED", browser.Find("#tx-status").Text);
        var branchRow = Assert.Single(browser.FindAll("#branches tr[data-branch]"));
        Assert.Contains("PHASE_TWO_ROLLBACK_FAILED_UNRETRYABLE", branchRow.Text);
        Assert.Contains("dirty write", branchRow.Text);
        Assert.Contains(sku, browser.Find("#locks").Text);
        var inline = browser.Find("table.undo-row.dirty tr[data-column='count']");
        Assert.Contains("12345", inline.FindElement(OpenQA.Selenium.By.CssSelector("td.current.dirty")).Text);
        browser.Screenshot(ScreenshotPath());

        // The branch's undo view: before 100, after 90 (changed by the branch), current 12345 (dirty).
        browser.ClickAndWait("#branches a.undo-link");
        var count = browser.Find("table.undo-row.dirty tr[data-column='count']");
        var cells = count.FindElements(OpenQA.Selenium.By.TagName("td"));
        Assert.Equal("100", cells[1].Text.Trim());
        Assert.StartsWith("90", cells[2].Text.Trim());
        Assert.Contains("changed", cells[2].Text);
        Assert.StartsWith("12345", cells[3].Text.Trim());
        Assert.Contains("dirty", cells[3].GetAttribute("class"));

        // The person puts back the value the branch wrote, so the undo applies cleanly, then retries.
        await env.SetStockBehindTheProxyAsync(sku, 90);
        browser.Open($"/transaction?xid={Uri.EscapeDataString(xid)}");
        browser.ClickAndWait("#action-retry");
        Assert.Equal("ROLLBACK_FAILED", browser.Find("#seen-status").Text);
        browser.Type("#reason", "count set back to 90, the value the order wrote");
        browser.ClickAndWait("#review");
        Assert.Contains("restores the before images of 1 branch", browser.Find("#consequence").Text);
        Assert.Contains("rows changed since will stop it", browser.Find("#consequence").Text);
        browser.ClickAndWait("#confirm");
        Assert.Contains($"Retry phase 2 done by console:{ConsoleEnvironment.OperatorName}", browser.Find("#message").Text);

        await env.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        browser.Open($"/transaction?xid={Uri.EscapeDataString(xid)}");
        Assert.Equal("ROLLBACKED", browser.Find("#tx-status").Text);
        Assert.Contains("count set back to 90", browser.Find("#history").Text);
        Assert.Contains($"console:{ConsoleEnvironment.OperatorName}", browser.Find("#history").Text);
        Assert.NotNull(browser.Find("#no-locks"));
        var recorded = browser.Find("table.interventions").Text;
        Assert.Contains($"console:{ConsoleEnvironment.OperatorName} retry", recorded);
        Assert.Contains("ROLLBACK_FAILED →", recorded);
        Assert.Contains("count set back to 90", recorded);
        browser.Open("/interventions");
        Assert.Contains(xid, browser.Find("table.interventions").Text);

        Assert.Equal(100, await env.StockCountAsync(sku));
        Assert.Empty(await env.LocksAsync(xid));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task The_transaction_list_filters_by_status_and_finds_a_transaction_by_its_xid()
    {
        const string sku = "console-list";
        string xid;
        await using (var gtx = await env.BeginDirtiedTransactionAsync(sku))
        {
            xid = gtx.Xid;
            await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        }
        var browser = env.Browser;

        browser.Open("/transactions?status=stopped");
        Assert.NotEmpty(browser.FindAll($"tr[data-xid='{xid}']"));
        browser.Open("/transactions?status=Committed");
        Assert.Empty(browser.FindAll($"tr[data-xid='{xid}']"));
        browser.Open("/transactions?name=no-such-name");
        Assert.Contains("No transaction matches", browser.Text);
        browser.Open("/transactions");
        browser.Type("#xid-search", xid);
        browser.ClickAndWait("#xid-go");
        Assert.Equal(xid, browser.Find("#xid").Text);
        browser.Open("/transaction?xid=tc%3A999999999");
        Assert.Contains("No global transaction 'tc:999999999' is known", browser.Find("#not-found").Text);

        await env.SetStockBehindTheProxyAsync(sku, 90);
        await env.Admin.RetryAsync(new InterveneRequest { Xid = xid, Reason = "test cleanup" });
        await env.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        await env.WaitForQuiescenceAsync();
    }

    // The README's picture is this screenshot: ATPROXY_UPDATE_SCREENSHOT=1 writes it to docs/images;
    // other runs keep theirs next to the test binaries, so a test run leaves the tree unchanged.
    private static string ScreenshotPath() =>
        Environment.GetEnvironmentVariable("ATPROXY_UPDATE_SCREENSHOT") == "1"
            ? Path.Combine(RepositoryRoot(), "docs", "images", "console.png")
            : Path.Combine(AppContext.BaseDirectory, "console.png");

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AtProxy.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No AtProxy.sln above {AppContext.BaseDirectory}.");
    }
}
