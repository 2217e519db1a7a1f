using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// The application's calls batched over one stream: many requests per frame, run concurrently,
/// each answered as its unary call would be, a malformed one refused on its own, the stream ended
/// cleanly when the coordinator stops.
/// </summary>
public class CallStreamTests
{
    private static CallRequest Begin(ulong id) => new() { Id = id, TimeoutMs = 30_000, Begin = new BeginRequest { ApplicationId = "test-app", Name = "streamed", TimeoutMs = 30_000 } };

    private static CallRequest Register(ulong id, string xid, params string[] keys)
    {
        var request = new RegisterBranchRequest { Xid = xid, ResourceId = "db", ApplicationId = "test-app", RequestId = $"r-{id}" };
        request.LockKeys.Add(keys.Select(CoordinatorClientExtensions.Key));
        return new CallRequest { Id = id, TimeoutMs = 30_000, RegisterBranch = request };
    }

    private static CallRequest Commit(ulong id, string xid) => new() { Id = id, TimeoutMs = 30_000, Commit = new CommitRequest { Xid = xid } };

    private static CallRequest Status(ulong id, string xid) => new() { Id = id, TimeoutMs = 30_000, GetStatus = new GetStatusRequest { Xid = xid } };

    private static CallRequest Check(ulong id, string xid, uint waitMs, uint timeoutMs, params string[] keys)
    {
        var request = new CheckLocksRequest { Xid = xid, ResourceId = "db", WaitMs = waitMs };
        request.LockKeys.Add(keys.Select(CoordinatorClientExtensions.Key));
        return new CallRequest { Id = id, TimeoutMs = timeoutMs, CheckLocks = request };
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Concurrent_global_transactions_in_shared_frames_each_get_their_own_answer_and_leave_no_lock(string store)
    {
        const int Transactions = 60;
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var stream = await RawCallStream.OpenAsync(coordinator.Channel);

        await stream.SendAsync([.. Enumerable.Range(1, Transactions).Select(i => Begin((ulong)i))]);
        var xids = new List<string>();
        for (var i = 1; i <= Transactions; i++)
        {
            xids.Add((await stream.AnswerAsync((ulong)i)).Begin.Xid);
        }
        Assert.Equal(Transactions, xids.Distinct().Count());

        // Every transaction takes its own row and the one hot row, all in one frame: exactly one gets the hot row.
        await stream.SendAsync([.. xids.Select((xid, i) => Register((ulong)(1000 + i), xid, $"t:own-{i}", "t:hot"))]);
        var registrations = new List<RegisterBranchResponse>();
        for (var i = 0; i < Transactions; i++)
        {
            registrations.Add((await stream.AnswerAsync((ulong)(1000 + i))).RegisterBranch);
        }
        Assert.Single(registrations, r => r.BranchId > 0);
        var holder = xids[registrations.FindIndex(r => r.BranchId > 0)];
        Assert.All(registrations.Where(r => r.BranchId == 0), r => Assert.Equal(holder, r.Conflict.HolderXid));
        Assert.Equal(2, await coordinator.Admin.LockCountAsync());

        await stream.SendAsync([.. xids.Select((xid, i) => Commit((ulong)(2000 + i), xid))]);
        for (var i = 0; i < Transactions; i++)
        {
            Assert.Contains((await stream.AnswerAsync((ulong)(2000 + i))).Commit.Status, new[] { GlobalStatus.Committed, GlobalStatus.AsyncCommitting });
        }

        Assert.Equal(0, await coordinator.Admin.LockCountAsync());
        Assert.True(stream.Frames < 3 * Transactions, $"{stream.Frames} answer frames for {3 * Transactions} answers: answers that were ready together share one");
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Each_request_fails_with_the_code_and_detail_of_its_unary_call(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var committed = await coordinator.Tm.BeginAsync();
        await coordinator.Tm.CommitAsync(committed);
        await using var stream = await RawCallStream.OpenAsync(coordinator.Channel);

        var unknown = committed + "9";
        await stream.SendAsync(Commit(1, unknown), Status(2, "not an xid"), Register(3, committed, "t:1"),
            new CallRequest { Id = 4, TimeoutMs = 30_000, Begin = new BeginRequest { ApplicationId = "", Name = "x" } });

        var unary = new[]
        {
            await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.CommitAsync(unknown)),
            await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.StatusAsync("not an xid")),
            await Assert.ThrowsAsync<RpcException>(() => coordinator.Rm.RegisterAsync(committed, "db", "t:1")),
            await Assert.ThrowsAsync<RpcException>(() => coordinator.Tm.BeginAsync(applicationId: "")),
        };
        Assert.Equal([StatusCode.NotFound, StatusCode.InvalidArgument, StatusCode.FailedPrecondition, StatusCode.InvalidArgument], unary.Select(u => u.StatusCode));
        for (var i = 0; i < unary.Length; i++)
        {
            var failure = (await stream.AnswerAsync((ulong)(i + 1))).Failure;
            Assert.NotNull(failure);
            Assert.Equal(((int)unary[i].StatusCode, unary[i].Status.Detail), (failure.Code, failure.Detail));
        }
    }

    [Fact]
    public async Task A_request_without_a_case_or_with_an_id_in_flight_is_refused_and_the_stream_goes_on()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:held");
        await using var stream = await RawCallStream.OpenAsync(coordinator.Channel);

        // Request 2 waits for the held row, so it is still in flight when its id comes again.
        await stream.SendAsync(new CallRequest { Id = 1, TimeoutMs = 30_000 }, Check(2, "", 10_000, 30_000, "t:held"));
        await stream.SendAsync(Begin(2), Begin(3));

        var empty = (await stream.AnswerAsync(1)).Failure;
        Assert.Equal((int)StatusCode.InvalidArgument, empty.Code);
        Assert.Contains("Request 1 sets no request", empty.Detail, StringComparison.Ordinal);
        var duplicate = (await stream.AnswerAsync(2)).Failure;
        Assert.Equal((int)StatusCode.InvalidArgument, duplicate.Code);
        Assert.Contains("Request id 2 is already in flight", duplicate.Detail, StringComparison.Ordinal);
        Assert.NotEmpty((await stream.AnswerAsync(3)).Begin.Xid);

        // A commit releases the row as soon as it is durable.
        await coordinator.Tm.CommitAsync(holder);
        var waited = await stream.AnswersAsync(2, count: 2);
        Assert.True(waited[1].CheckLocks.Lockable);
    }

    [Fact]
    public async Task A_frame_of_more_than_a_thousand_requests_has_the_rest_refused()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var xid = await coordinator.Tm.BeginAsync();
        await using var stream = await RawCallStream.OpenAsync(coordinator.Channel);

        await stream.SendAsync([.. Enumerable.Range(1, 1001).Select(i => Status((ulong)i, xid))]);

        Assert.Equal(GlobalStatus.Begin, (await stream.AnswerAsync(1000)).GetStatus.Status);
        var refused = (await stream.AnswerAsync(1001)).Failure;
        Assert.Equal((int)StatusCode.ResourceExhausted, refused.Code);
        Assert.Contains("at most 1000 requests", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lock_check_answers_before_its_timeout_with_what_it_knows()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync();
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:held");
        await using var stream = await RawCallStream.OpenAsync(coordinator.Channel);

        // It may wait 10 s for the row, but the client waits only 1 s for the answer.
        await stream.SendAsync(Check(1, "", 10_000, 1_000, "t:held"));

        var answer = await stream.AnswerAsync(1);
        Assert.False(answer.CheckLocks.Lockable);
        Assert.Equal(holder, answer.CheckLocks.Conflict.HolderXid);
    }

    [Fact]
    public async Task The_stream_is_refused_at_open_without_the_application_token()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(configure: s => s["Coordinator:ApplicationToken"] = "app-secret");

        var refused = await Assert.ThrowsAsync<RpcException>(() => RawCallStream.OpenAsync(coordinator.Channel));
        var wrong = await Assert.ThrowsAsync<RpcException>(() => RawCallStream.OpenAsync(coordinator.WithToken("guess")));
        await using var served = await RawCallStream.OpenAsync(coordinator.WithToken("app-secret"));
        await served.SendAsync(Begin(1));

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.NotEmpty((await served.AnswerAsync(1)).Begin.Xid);
    }

    [Fact]
    public async Task A_coordinator_told_not_to_serve_the_stream_answers_unimplemented_at_open()
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(configure: s => s["Coordinator:ServeCallStream"] = "false");

        var refused = await Assert.ThrowsAsync<RpcException>(() => RawCallStream.OpenAsync(coordinator.Channel));

        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
    }

    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task A_stopping_coordinator_answers_what_is_in_flight_and_ends_the_stream_cleanly(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        var holder = await coordinator.Tm.BeginAsync();
        await coordinator.Rm.RegisterGrantedAsync(holder, "db", "t:held");
        await using var stream = await RawCallStream.OpenAsync(coordinator.Channel);
        await stream.SendAsync(Check(1, "", 10_000, 60_000, "t:held"));
        await Never.WithinAsync(() => stream.Snapshot().Count > 0, TimeSpan.FromMilliseconds(300), "the lock check answered", "the row is still held");

        coordinator.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        Assert.Equal(StatusCode.OK, (await stream.Ended.WaitAsync(TimeSpan.FromSeconds(30))).StatusCode);
        Assert.False((await stream.AnswerAsync(1)).CheckLocks.Lockable);
    }
}
