using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using AtProxy.Hosting;
using AtProxy.Testing.Coordinator;

namespace AtProxy.Console.Tests;

/// <summary>
/// Guessing the admin token over the admin endpoint is slowed down per address: after ten wrong
/// tokens in a minute every token check from that address is refused with 429, the right token
/// included, while other addresses and signed-in operators go on as before.
/// </summary>
public partial class TokenGuessingTests
{
    private const string Token = "guess-me-if-you-can";

    [Fact]
    public async Task Ten_wrong_tokens_from_one_address_stop_its_token_checks_for_a_minute_and_leave_other_addresses_alone()
    {
        var port = FreePort.Find();
        var options = new CoordinatorProcessOptions { Store = "memory" };
        options.Settings["Coordinator:AdminToken"] = Token;
        options.Settings["Coordinator:AdminUrls"] = $"http://127.0.0.1:{port}";
        await using var coordinator = await CoordinatorProcess.StartAsync(options);
        var address = new Uri($"http://127.0.0.1:{port}");
        using var guesser = Client(address, from: IPAddress.Parse("127.0.0.1"));
        using var operatorClient = Client(address, from: IPAddress.Parse("127.0.0.2"));

        // A signed-in operator on the guesser's address keeps the console: the cookie is no token check.
        using var signedIn = Client(address, from: IPAddress.Parse("127.0.0.1"));
        Assert.Equal(HttpStatusCode.Redirect, (await SignInAsync(signedIn, Token)).StatusCode);

        for (var guess = 0; guess < 10; guess++)
        {
            using var wrong = await MetricsAsync(guesser, $"guess-{guess}");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        using (var throttled = await MetricsAsync(guesser, "guess-10"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
            Assert.InRange(throttled.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        }
        // The right token teaches the guesser nothing now, on /metrics or on the sign-in form.
        using (var right = await MetricsAsync(guesser, Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        }
        using (var form = await SignInAsync(guesser, Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, form.StatusCode);
            Assert.Contains("Too many wrong admin tokens from this address", await form.Content.ReadAsStringAsync());
        }
        using (var console = await signedIn.GetAsync("/locks"))
        {
            Assert.Equal(HttpStatusCode.OK, console.StatusCode);
        }

        // Another address is not affected.
        using (var scrape = await MetricsAsync(operatorClient, Token))
        {
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Redirect, (await SignInAsync(operatorClient, Token)).StatusCode);

        Assert.Contains("Refused an admin token check from 127.0.0.1: too many wrong tokens", coordinator.Output);
        Assert.DoesNotContain(Token, coordinator.Output);
    }

    private static HttpClient Client(Uri address, IPAddress from)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            CookieContainer = new CookieContainer(),
            // Loopback answers every 127.x address: binding the source tells the coordinator apart two clients of this machine.
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = address };
    }

    private static async Task<HttpResponseMessage> MetricsAsync(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    // The form as a browser posts it: the antiforgery field of the page, and its cookie.
    private static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string token)
    {
        var page = await client.GetStringAsync("/signin");
        var antiforgery = AntiforgeryField().Match(page);
        Assert.True(antiforgery.Success, "the sign-in page carries its antiforgery field");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__console_token"] = WebUtility.HtmlDecode(antiforgery.Groups[1].Value),
            ["token"] = token,
            ["name"] = "alice",
            ["returnUrl"] = "/",
        });
        return await client.PostAsync("/signin", form);
    }

    [GeneratedRegex("name=\"__console_token\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
