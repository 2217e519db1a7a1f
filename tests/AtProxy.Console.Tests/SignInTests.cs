using System.Net;
using AtProxy.Console.Tests.Support;

namespace AtProxy.Console.Tests;

/// <summary>The admin token guards everything but /healthz; the browser holds a cookie, never the token.</summary>
[Collection(ConsoleCollection.Name)]
public class SignInTests(ConsoleEnvironment env)
{
    [Fact]
    public async Task A_request_without_the_cookie_is_sent_to_sign_in_and_only_healthz_answers_it()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = env.ConsoleAddress };
        foreach (var path in new[] { "/", "/transactions", "/transaction?xid=tc%3A1", "/locks", "/interventions", "/alerts", "/intervene?xid=tc%3A1&action=retry" })
        {
            using var page = await anonymous.GetAsync(path);
            Assert.True(page.StatusCode == HttpStatusCode.Redirect, $"{path}: {page.StatusCode}");
            Assert.Equal($"/signin?ReturnUrl={Uri.EscapeDataString(path)}", page.Headers.Location!.PathAndQuery);
        }
        using (var metrics = await anonymous.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
            Assert.Equal("Bearer", metrics.Headers.WwwAuthenticate.ToString());
        }
        using (var health = await anonymous.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.StartsWith("Healthy", await health.Content.ReadAsStringAsync());
        }
        // The gRPC port serves no console, and the admin port no gRPC.
        using var grpcPort = new HttpClient { BaseAddress = env.Coordinator.Address, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using (var onGrpcPort = await grpcPort.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.NotFound, onGrpcPort.StatusCode);
        }
    }

    [Fact]
    public void A_wrong_token_is_refused_and_the_right_one_returns_to_the_page_asked_for_with_an_HttpOnly_SameSite_cookie()
    {
        var browser = env.Browser;
        try
        {
            browser.SignOut();
            browser.Open("/locks");
            Assert.StartsWith("/signin", browser.Path);

            browser.Type("#token", "not-the-token");
            browser.Type("#name", "mallory");
            browser.ClickAndWait("#sign-in");
            Assert.Contains("not this coordinator's admin token", browser.Find("#signin-error").Text);
            Assert.Null(browser.Driver.Manage().Cookies.GetCookieNamed("atproxy-console"));
            browser.Open("/");
            Assert.StartsWith("/signin", browser.Path);

            browser.Open("/locks");
            browser.Type("#token", ConsoleEnvironment.AdminTokenValue);
            browser.Type("#name", ConsoleEnvironment.OperatorName);
            browser.ClickAndWait("#sign-in");
            Assert.Equal("/locks", browser.Path);
            Assert.Equal($"console:{ConsoleEnvironment.OperatorName}", browser.Find("#operator").Text);
            var cookie = browser.Driver.Manage().Cookies.GetCookieNamed("atproxy-console");
            Assert.NotNull(cookie);
            Assert.True(cookie.IsHttpOnly);
            Assert.Equal("Strict", cookie.SameSite);
            Assert.DoesNotContain(ConsoleEnvironment.AdminTokenValue, cookie.Value);
            Assert.DoesNotContain(ConsoleEnvironment.AdminTokenValue, browser.Driver.Url);
            // The refusal was logged, the token never.
            Assert.Contains("Refused a console sign-in", env.Coordinator.Output);
            Assert.DoesNotContain(ConsoleEnvironment.AdminTokenValue, env.Coordinator.Output);
        }
        finally
        {
            browser.SignOut();
            browser.SignIn(ConsoleEnvironment.AdminTokenValue, ConsoleEnvironment.OperatorName);
        }
    }
}
