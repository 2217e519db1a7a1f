using System.Net;
using AtProxy.Console.Tests.Support;
using AtProxy.Protocol.V1;
using OpenQA.Selenium;

namespace AtProxy.Console.Tests;

/// <summary>
/// What keeps an intervention from being made by mistake: the status the operator saw travels with
/// the form and a stale one is refused; every POST needs its anti-forgery token; nothing changes
/// when either is refused.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class InterventionGuardTests(ConsoleEnvironment env)
{
    [Fact]
    public async Task A_force_rollback_confirmed_after_another_operator_acted_is_refused_by_the_status_the_form_saw()
    {
        const string sku = "console-stale";
        await using var gtx = await env.BeginDirtiedTransactionAsync(sku);
        var xid = gtx.Xid;
        var browser = env.Browser;

        // This operator sees the transaction still running and prepares to roll it back.
        browser.Open($"/transaction?xid={Uri.EscapeDataString(xid)}");
        Assert.Equal("BEGIN", browser.Find("#tx-status").Text);
        browser.ClickAndWait("#action-force_rollback");
        Assert.Equal("BEGIN", browser.Find("#seen-status").Text);
        browser.Type("#reason", "stuck order, rolling it back");
        browser.ClickAndWait("#review");
        Assert.Contains("Force rollback decides rollback for a transaction still running", browser.Find("#consequence").Text);

        // Meanwhile another operator rolls it back; the dirty write stops that rollback.
        await env.Admin.ForceRollbackAsync(new InterveneRequest { Xid = xid, Reason = "second operator" });
        await env.WaitForStatusAsync(xid, GlobalStatus.RollbackFailed);
        var before = await env.GetTransactionAsync(xid);

        // Resuming that rollback is allowed by the status rules, but it is not what this operator saw.
        browser.ClickAndWait("#confirm");
        var refused = browser.Find("#refused").Text;
        Assert.Contains("Refused, nothing was changed", refused);
        Assert.Contains("ROLLBACK_FAILED now, not the BEGIN you saw", refused);
        var after = await env.GetTransactionAsync(xid);
        Assert.Equal(GlobalStatus.RollbackFailed, after.Transaction.Status);
        Assert.Equal(before.History.Count, after.History.Count);
        Assert.DoesNotContain(after.History, h => h.Actor.StartsWith("console", StringComparison.Ordinal));
        var audit = await env.Admin.ListInterventionsAsync(new ListInterventionsRequest { Xid = xid });
        Assert.Equal("second operator", Assert.Single(audit.Interventions).Reason);
        Assert.Equal(12345, await env.StockCountAsync(sku));

        await RepairAndFinishAsync(sku, xid);
    }

    [Fact]
    public async Task A_confirmation_posted_without_its_anti_forgery_token_is_refused_and_changes_nothing()
    {
        const string sku = "console-forgery";
        string xid;
        await using (var gtx = await env.BeginDirtiedTransactionAsync(sku))
        {
            xid = gtx.Xid;
            await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        }
        await env.SetStockBehindTheProxyAsync(sku, 90); // were the retry to run, it would succeed
        var browser = env.Browser;

        browser.Open($"/intervene?xid={Uri.EscapeDataString(xid)}&action=retry");
        browser.Type("#reason", "forged");
        browser.ClickAndWait("#review");
        ((IJavaScriptExecutor)browser.Driver).ExecuteScript(
            $"document.querySelectorAll(\"input[name='{ConsoleEnvironment.AntiforgeryField}']\").forEach(e => e.remove());");
        browser.ClickAndWait("#confirm");
        Assert.DoesNotContain("done by", browser.Text);
        Assert.Equal(GlobalStatus.RollbackFailed, (await env.GetTransactionAsync(xid)).Transaction.Status);

        // The same refusal for a script with a valid sign-in cookie: a POST without the token, or with another session's.
        using var client = await env.SignedInHttpClientAsync();
        using var other = await env.SignedInHttpClientAsync();
        var otherToken = ConsoleEnvironment.AntiforgeryTokenIn(await other.GetStringAsync($"/intervene?xid={Uri.EscapeDataString(xid)}&action=retry"));
        var fields = new Dictionary<string, string> { ["xid"] = xid, ["action"] = "retry", ["expectedStatus"] = "RollbackFailed", ["reason"] = "forged" };
        using (var missing = await client.PostAsync("/intervene?handler=Confirm", new FormUrlEncodedContent(fields)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        }
        using (var foreign = await client.PostAsync("/intervene?handler=Confirm", new FormUrlEncodedContent(new Dictionary<string, string>(fields) { [ConsoleEnvironment.AntiforgeryField] = otherToken })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, foreign.StatusCode);
        }
        using var stranger = new HttpClient { BaseAddress = env.ConsoleAddress };
        using (var signIn = await stranger.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = ConsoleEnvironment.AdminTokenValue })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
        }
        var shown = await env.GetTransactionAsync(xid);
        Assert.Equal(GlobalStatus.RollbackFailed, shown.Transaction.Status);
        Assert.DoesNotContain(shown.History, h => h.Actor.StartsWith("console", StringComparison.Ordinal));

        // With its token, the same script's confirmation goes through.
        var token = ConsoleEnvironment.AntiforgeryTokenIn(await client.GetStringAsync($"/intervene?xid={Uri.EscapeDataString(xid)}&action=retry"));
        using (var valid = await client.PostAsync("/intervene?handler=Confirm", new FormUrlEncodedContent(new Dictionary<string, string>(fields)
        {
            ["reason"] = "count set back to 90",
            [ConsoleEnvironment.AntiforgeryField] = token,
        })))
        {
            Assert.Equal(HttpStatusCode.Redirect, valid.StatusCode);
        }
        await env.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        Assert.Contains((await env.GetTransactionAsync(xid)).History, h => h.Actor == "console:scripted" && h.Reason == "count set back to 90");
        Assert.Equal(100, await env.StockCountAsync(sku));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task An_intervention_without_a_reason_is_refused_by_the_server_too()
    {
        const string sku = "console-reason";
        string xid;
        await using (var gtx = await env.BeginDirtiedTransactionAsync(sku))
        {
            xid = gtx.Xid;
            await Assert.ThrowsAsync<GlobalTransactionException>(() => gtx.RollbackAsync());
        }
        using var client = await env.SignedInHttpClientAsync();
        var token = ConsoleEnvironment.AntiforgeryTokenIn(await client.GetStringAsync($"/intervene?xid={Uri.EscapeDataString(xid)}&action=retry"));
        using var response = await client.PostAsync("/intervene?handler=Confirm", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["xid"] = xid, ["action"] = "retry", ["expectedStatus"] = "RollbackFailed", ["reason"] = "  ", [ConsoleEnvironment.AntiforgeryField] = token,
        }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("A reason is required", await response.Content.ReadAsStringAsync());
        Assert.Equal(GlobalStatus.RollbackFailed, (await env.GetTransactionAsync(xid)).Transaction.Status);

        await RepairAndFinishAsync(sku, xid);
    }

    private async Task RepairAndFinishAsync(string sku, string xid)
    {
        await env.SetStockBehindTheProxyAsync(sku, 90);
        await env.Admin.RetryAsync(new InterveneRequest { Xid = xid, Reason = "test cleanup" });
        await env.WaitForStatusAsync(xid, GlobalStatus.Rollbacked);
        Assert.Equal(100, await env.StockCountAsync(sku));
        await env.WaitForQuiescenceAsync();
    }
}
