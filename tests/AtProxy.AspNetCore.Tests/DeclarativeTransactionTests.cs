using System.Net;
using AtProxy.Protocol.V1;
using Dapper;
using Npgsql;

namespace AtProxy.AspNetCore.Tests;

/// <summary>
/// Endpoints that declare their global transaction, on a real service, coordinator and two
/// databases: each propagation mode, rollback by status and by exception rules, hooks in order, a
/// commit that fails, and many requests at once keeping stock + sold = initial.
/// </summary>
public class DeclarativeTransactionTests(ShopServiceEnvironment env) : IClassFixture<ShopServiceEnvironment>
{
    private static readonly HttpClient Http = new();

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, string? xid = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(env.Service, path));
        if (xid is not null)
        {
            request.Headers.TryAddWithoutValidation(AtProxyHeaders.Xid, xid);
        }
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> SeedAsync(string sku)
    {
        await env.SeedStockAsync([sku], ShopServiceEnvironment.InitialStock);
        return sku;
    }

    private Task AssertSoldAsync(string sku, int sold) => env.AssertStockMatchesOrdersAsync([sku], ShopServiceEnvironment.InitialStock, sold);

    [Fact]
    public async Task Required_without_a_caller_begins_and_commits_a_transaction_over_both_keyed_databases()
    {
        var sku = await SeedAsync("required-alone");
        var (status, xid) = await PostAsync($"/sell/Required?sku={sku}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEqual("none", xid);
        Assert.True((await env.GetTransactionAsync(xid)).Transaction.Status is GlobalStatus.Committed or GlobalStatus.AsyncCommitting or GlobalStatus.Finished);
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task Required_joins_the_callers_transaction_and_the_callers_rollback_restores_both_databases()
    {
        var sku = await SeedAsync("required-joined");
        await using (var caller = await env.Client.BeginAsync("caller"))
        {
            var (status, xid) = await PostAsync($"/sell/Required?sku={sku}&case=required-joined", caller.Xid);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(caller.Xid, xid);
            Assert.Equal((1L, ShopServiceEnvironment.InitialStock - 1), await env.StateAsync(sku));
            await caller.RollbackAsync();
        }
        await AssertSoldAsync(sku, 0);
        // The caller owns the transaction: the joining endpoint ran no hooks.
        Assert.Empty(env.Hooks.StagesOf("required-joined"));
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task RequiresNew_suspends_the_callers_transaction_and_commits_its_own_that_the_callers_rollback_leaves_alone()
    {
        var sku = await SeedAsync("requires-new");
        await using (var caller = await env.Client.BeginAsync("caller"))
        {
            var (status, xid) = await PostAsync($"/sell/RequiresNew?sku={sku}", caller.Xid);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.NotEqual(caller.Xid, xid);
            Assert.NotEqual("none", xid);
            await caller.RollbackAsync();
        }
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task Supports_joins_a_callers_transaction_and_without_one_writes_plainly()
    {
        var sku = await SeedAsync("supports");
        await using (var caller = await env.Client.BeginAsync("caller"))
        {
            var (status, xid) = await PostAsync($"/sell/Supports?sku={sku}", caller.Xid);
            Assert.Equal((HttpStatusCode.OK, caller.Xid), (status, xid));
            await caller.RollbackAsync();
        }
        await AssertSoldAsync(sku, 0);
        Assert.Equal((HttpStatusCode.OK, "none"), await PostAsync($"/sell/Supports?sku={sku}"));
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task NotSupported_runs_outside_the_callers_transaction_so_its_rollback_keeps_the_writes()
    {
        var sku = await SeedAsync("not-supported");
        await using (var caller = await env.Client.BeginAsync("caller"))
        {
            Assert.Equal((HttpStatusCode.OK, "none"), await PostAsync($"/sell/NotSupported?sku={sku}", caller.Xid));
            await caller.RollbackAsync();
        }
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task Mandatory_without_a_caller_fails_before_writing_and_with_one_joins_it()
    {
        var sku = await SeedAsync("mandatory");
        var (status, body) = await PostAsync($"/sell/Mandatory?sku={sku}");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.StartsWith(nameof(GlobalTransactionPropagationException), body);
        Assert.Contains("Mandatory", body);
        await AssertSoldAsync(sku, 0);
        await using (var caller = await env.Client.BeginAsync("caller"))
        {
            Assert.Equal((HttpStatusCode.OK, caller.Xid), await PostAsync($"/sell/Mandatory?sku={sku}", caller.Xid));
            await caller.CommitAsync();
        }
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task Never_inside_a_callers_transaction_fails_before_writing_and_outside_runs_without_one()
    {
        var sku = await SeedAsync("never");
        await using (var caller = await env.Client.BeginAsync("caller"))
        {
            var (status, body) = await PostAsync($"/sell/Never?sku={sku}", caller.Xid);
            Assert.Equal(HttpStatusCode.InternalServerError, status);
            Assert.StartsWith(nameof(GlobalTransactionPropagationException), body);
            Assert.Contains(caller.Xid, body);
            await caller.CommitAsync();
        }
        await AssertSoldAsync(sku, 0);
        Assert.Equal((HttpStatusCode.OK, "none"), await PostAsync($"/sell/Never?sku={sku}"));
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Theory]
    [InlineData("/sell/Required", 409)]
    [InlineData("/sell/Required", 500)]
    [InlineData("/mvc/sell", 422)]
    public async Task An_error_status_rolls_both_databases_back_and_reaches_the_client(string path, int errorStatus)
    {
        var sku = await SeedAsync($"status-{errorStatus}-{path.Replace('/', '-')}");
        var (status, xid) = await PostAsync($"{path}?sku={sku}&status={errorStatus}");
        Assert.Equal((HttpStatusCode)errorStatus, status);
        Assert.True((await env.GetTransactionAsync(xid)).Transaction.Status is GlobalStatus.Rollbacked or GlobalStatus.Rollbacking or GlobalStatus.Finished);
        await AssertSoldAsync(sku, 0);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_status_listed_as_no_rollback_commits_on_an_mvc_action_that_overrides_its_controller()
    {
        var sku = await SeedAsync("keeping-not-found");
        var (status, xid) = await PostAsync($"/mvc/sell-keeping-not-found?sku={sku}&status=404");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("mvc-sell-keeping-not-found", (await env.GetTransactionAsync(xid)).Transaction.Name);
        await AssertSoldAsync(sku, 1);
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync($"/mvc/sell-keeping-not-found?sku={sku}&status=409")).Status);
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Theory]
    [InlineData("/sell/Required", "invalid", 0)]
    [InlineData("/mvc/sell", "invalid", 0)]
    // NoRollbackFor ArgumentException: the work before it commits, and the exception still reaches the client.
    [InlineData("/sell/rules", "argument", 1)]
    // RollbackFor ArgumentOutOfRangeException is closer to it than NoRollbackFor ArgumentException: rolled back.
    [InlineData("/sell/rules", "argument-range", 0)]
    [InlineData("/sell/rules", "invalid", 0)]
    public async Task An_exception_propagates_and_rolls_back_unless_a_closer_no_rollback_rule_matches(string path, string toThrow, int sold)
    {
        var sku = await SeedAsync($"throw-{toThrow}-{path.Replace('/', '-')}");
        var (status, body) = await PostAsync($"{path}?sku={sku}&throw={toThrow}");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Contains("after selling", body);
        await AssertSoldAsync(sku, sold);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_rules_endpoint_commits_on_a_404_it_lists_and_rolls_back_on_other_errors()
    {
        var sku = await SeedAsync("rules-status");
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync($"/sell/rules?sku={sku}&status=404")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync($"/sell/rules?sku={sku}&status=400")).Status);
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task Hooks_run_in_order_around_a_commit_and_around_a_rollback()
    {
        var sku = await SeedAsync("hooks");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"/sell/Required?sku={sku}&case=hooks-commit")).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync($"/sell/Required?sku={sku}&case=hooks-rollback&status=409")).Status);
        Assert.Equal(
            ["before-begin - no-xid", "after-begin - xid", "before-commit - xid", "after-commit Committed xid", "after-completion Committed xid"],
            env.Hooks.StagesOf("hooks-commit").Select(s => s.Replace("AsyncCommitting", "Committed")));
        Assert.Equal(
            ["before-begin - no-xid", "after-begin - xid", "before-rollback - xid", "after-rollback Rollbacked xid", "after-completion Rollbacked xid"],
            env.Hooks.StagesOf("hooks-rollback"));
        await AssertSoldAsync(sku, 1);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_before_commit_hook_that_throws_rolls_back_and_the_client_gets_the_error_not_the_success()
    {
        var sku = await SeedAsync("hook-refuses");
        var (status, body) = await PostAsync($"/sell/Required?sku={sku}&case=hook-refuses&hookFails=before-commit");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Contains("before-commit hook refused", body);
        Assert.Equal(
            ["before-begin - no-xid", "after-begin - xid", "before-commit - xid", "before-rollback - xid", "after-rollback Rollbacked xid", "after-completion Rollbacked xid"],
            env.Hooks.StagesOf("hook-refuses"));
        await AssertSoldAsync(sku, 0);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task A_commit_the_coordinator_refuses_after_a_timeout_is_an_error_response_not_a_silent_success()
    {
        var sku = await SeedAsync("outlives-timeout");
        var (status, body) = await PostAsync($"/sell/outlives-timeout?sku={sku}");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.StartsWith(nameof(GlobalTransactionException), body);
        Assert.Contains("TimeoutRollbacked", body);
        await AssertSoldAsync(sku, 0);
        await env.WaitForQuiescenceAsync();
    }

    [Fact]
    public async Task Many_concurrent_requests_that_commit_or_roll_back_keep_stock_plus_sold_equal_to_the_initial_stock()
    {
        string[] skus = ["busy-0", "busy-1", "busy-2"];
        await env.SeedStockAsync(skus, ShopServiceEnvironment.InitialStock);
        var requests = Enumerable.Range(0, 60).Select(i =>
        {
            var sku = skus[i % skus.Length];
            var path = (i % 4) switch
            {
                0 => $"/sell/Required?sku={sku}",
                1 => $"/mvc/sell?sku={sku}&status=409",
                2 => $"/sell/Required?sku={sku}&throw=invalid",
                _ => $"/mvc/sell?sku={sku}",
            };
            return PostAsync(path);
        }).ToArray();
        var outcomes = await Task.WhenAll(requests);
        var committed = outcomes.Count(o => o.Status == HttpStatusCode.OK);
        // Every request either committed (200) or rolled back (409 or 500); a conflict on the hot rows may roll back more.
        Assert.All(outcomes, o => Assert.Contains(o.Status, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict, HttpStatusCode.InternalServerError }));
        Assert.InRange(committed, 1, 30);
        await env.WaitForQuiescenceAsync();
        await env.AssertStockMatchesOrdersAsync(skus, ShopServiceEnvironment.InitialStock, committed);
    }
}
