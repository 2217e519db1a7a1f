using System.Collections.Concurrent;
using AtProxy.Protocol.V1;
using Grpc.Core;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// A test resource manager speaking the real stream protocol: it subscribes for its resources,
/// then answers every BranchCommand with what its script says (by default: done). Every
/// command it receives is recorded in order.
/// </summary>
public sealed class ScriptedResourceManager : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> _call;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<BranchCommand> _received = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private Task? _loop;

    private ScriptedResourceManager(AsyncDuplexStreamingCall<ResourceManagerMessage, CoordinatorMessage> call, string instanceId)
    {
        _call = call;
        InstanceId = instanceId;
    }

    public string InstanceId { get; }

    public string CoordinatorId { get; private set; } = "";

    /// <summary>Decides the answer to each command; replaceable while running.</summary>
    public Func<BranchCommand, Task<BranchCommandResult>> Script { get; set; } = command => Task.FromResult(Succeed(command));

    public IReadOnlyList<BranchCommand> Received => [.. _received];

    public static BranchCommandResult Succeed(BranchCommand command) => new()
    {
        CorrelationId = command.CorrelationId,
        Status = command.Action == BranchAction.Commit ? BranchStatus.PhaseTwoCommitted : BranchStatus.PhaseTwoRollbacked,
    };

    public static BranchCommandResult Fail(BranchCommand command, bool retryable, string message) => new()
    {
        CorrelationId = command.CorrelationId,
        Status = (command.Action, retryable) switch
        {
            (BranchAction.Commit, true) => BranchStatus.PhaseTwoCommitFailedRetryable,
            (BranchAction.Commit, false) => BranchStatus.PhaseTwoCommitFailedUnretryable,
            (_, true) => BranchStatus.PhaseTwoRollbackFailedRetryable,
            _ => BranchStatus.PhaseTwoRollbackFailedUnretryable,
        },
        Message = message,
    };

    /// <summary>A script that answers the first command with a retryable "busy" failure and every later one with success.</summary>
    public static Func<BranchCommand, Task<BranchCommandResult>> BusyOnceThenSucceed()
    {
        var calls = 0;
        return command => Task.FromResult(Interlocked.Increment(ref calls) == 1
            ? Fail(command, retryable: true, "busy")
            : Succeed(command));
    }

    /// <summary>A script that answers every command with success once <paramref name="released"/> completes (a phase 2 held up on purpose).</summary>
    public static Func<BranchCommand, Task<BranchCommandResult>> SucceedOnceReleased(Task released) => async command =>
    {
        await released;
        return Succeed(command);
    };

    /// <summary>Connects, subscribes and waits for the coordinator's Subscribed.</summary>
    public static Task<ScriptedResourceManager> ConnectAsync(ChannelBase channel, string applicationId, params string[] resourceIds) =>
        ConnectAsync(channel.CreateCallInvoker(), applicationId, resourceIds);

    /// <summary>Connects through <paramref name="invoker"/> (e.g. one that adds a token).</summary>
    public static async Task<ScriptedResourceManager> ConnectAsync(CallInvoker invoker, string applicationId, params string[] resourceIds) =>
        await ConnectAsync(invoker, applicationId, $"{applicationId}-{Guid.NewGuid().ToString("N")[..6]}", resourceIds);

    public static async Task<ScriptedResourceManager> ConnectAsync(CallInvoker invoker, string applicationId, string instanceId, string[] resourceIds)
    {
        var client = new ResourceManager.ResourceManagerClient(invoker);
        var call = client.Connect();
        var manager = new ScriptedResourceManager(call, instanceId);
        var subscribe = new Subscribe { ApplicationId = applicationId, InstanceId = instanceId };
        subscribe.ResourceIds.Add(resourceIds);
        try
        {
            await call.RequestStream.WriteAsync(new ResourceManagerMessage { Subscribe = subscribe });
        }
        catch (RpcException)
        {
            // The coordinator can refuse the call (e.g. unauthenticated) and close it while the
            // message is still being sent; the write then fails as cancelled, and the coordinator's
            // own status is in the response.
            await call.ResponseStream.MoveNext();
            throw;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        if (!await call.ResponseStream.MoveNext(timeout.Token) || call.ResponseStream.Current.KindCase != CoordinatorMessage.KindOneofCase.Subscribed)
        {
            throw new InvalidOperationException("The coordinator did not answer Subscribe with Subscribed.");
        }
        manager.CoordinatorId = call.ResponseStream.Current.Subscribed.CoordinatorId;
        manager._loop = manager.RunAsync();
        return manager;
    }

    /// <summary>Waits until at least <paramref name="count"/> commands were received.</summary>
    public Task WaitForCommandsAsync(int count, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => Task.FromResult(_received.Count >= count), timeout, () => Task.FromResult($"{InstanceId} to receive {count} commands (got {_received.Count})"));

    private async Task RunAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token))
            {
                var message = _call.ResponseStream.Current;
                if (message.KindCase != CoordinatorMessage.KindOneofCase.Command)
                {
                    continue;
                }
                var command = message.Command;
                _received.Enqueue(command);
                _ = AnswerAsync(command);
            }
        }
        catch (Exception ex) when (_stop.IsCancellationRequested && ex is RpcException or ObjectDisposedException)
        {
            // Dropped on purpose: the call can be disposed while the read is still on its way out.
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
        {
            // Disposed while a read was starting.
        }
        catch (RpcException)
        {
            // The coordinator went away.
        }
    }

    private async Task AnswerAsync(BranchCommand command)
    {
        BranchCommandResult result;
        try
        {
            result = await Script(command);
        }
        catch (OperationCanceledException)
        {
            return; // the script chose not to answer
        }
        await _writeLock.WaitAsync();
        try
        {
            if (!_stop.IsCancellationRequested)
            {
                await _call.RequestStream.WriteAsync(new ResourceManagerMessage { Result = result });
            }
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or ObjectDisposedException)
        {
            // The stream closed meanwhile; the coordinator retries the command.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Drops the stream as a crashed resource manager would.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        await _stop.CancelAsync();
        _call.Dispose();
        if (_loop is not null)
        {
            await _loop;
        }
    }
}
