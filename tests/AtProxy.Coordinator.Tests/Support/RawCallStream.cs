namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// The coordinator's call stream driven frame by frame, as a client would: sends frames of
/// requests and collects the answers by id, with nothing of the proxy's client in between.
/// </summary>
public sealed class RawCallStream : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<CallFrame, AnswerFrame> _call;
    private readonly List<CallAnswer> _answers = [];
    private readonly Task<Status> _reading;
    private int _frames;

    private RawCallStream(AsyncDuplexStreamingCall<CallFrame, AnswerFrame> call)
    {
        _call = call;
        _reading = ReadAsync();
    }

    /// <summary>Opens the stream and waits until the coordinator serves it (its first, empty frame arrived).</summary>
    public static async Task<RawCallStream> OpenAsync(CallInvoker invoker)
    {
        var call = new Calls.CallsClient(invoker).Open();
        try
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "The coordinator ended the call stream without its first frame.");
            Assert.Empty(call.ResponseStream.Current.Answers);
        }
        catch
        {
            call.Dispose();
            throw;
        }
        return new RawCallStream(call);
    }

    /// <inheritdoc cref="OpenAsync(CallInvoker)"/>
    public static Task<RawCallStream> OpenAsync(Grpc.Net.Client.GrpcChannel channel) => OpenAsync(channel.CreateCallInvoker());

    /// <summary>How many answer frames arrived so far.</summary>
    public int Frames => Volatile.Read(ref _frames);

    /// <summary>How the coordinator ended the stream; throws while it is open.</summary>
    public Task<Status> Ended => _reading;

    public Task SendAsync(params CallRequest[] requests)
    {
        var frame = new CallFrame();
        frame.Requests.Add(requests);
        return _call.RequestStream.WriteAsync(frame);
    }

    /// <summary>The answers carrying <paramref name="id"/> once <paramref name="count"/> of them arrived.</summary>
    public async Task<IReadOnlyList<CallAnswer>> AnswersAsync(ulong id, int count = 1)
    {
        IReadOnlyList<CallAnswer> found = [];
        await Eventually.TrueAsync(() => (found = Snapshot().Where(a => a.Id == id).ToList()).Count >= count, TimeSpan.FromSeconds(30),
            $"{count} answer(s) to request {id}; the stream has {Snapshot().Count} answer(s)");
        return found;
    }

    /// <summary>The one answer to <paramref name="id"/>.</summary>
    public async Task<CallAnswer> AnswerAsync(ulong id) => (await AnswersAsync(id)).Single();

    public IReadOnlyList<CallAnswer> Snapshot()
    {
        lock (_answers)
        {
            return [.. _answers];
        }
    }

    public Task CompleteAsync() => _call.RequestStream.CompleteAsync();

    private async Task<Status> ReadAsync()
    {
        while (await _call.ResponseStream.MoveNext(CancellationToken.None))
        {
            Interlocked.Increment(ref _frames);
            lock (_answers)
            {
                _answers.AddRange(_call.ResponseStream.Current.Answers);
            }
        }
        return _call.GetStatus();
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        return ValueTask.CompletedTask;
    }
}
