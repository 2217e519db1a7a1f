namespace AtProxy.Demo.Chaos;

/// <summary>
/// Watches a run's processes: kills the target once the planned order started (a random kill), restarts any
/// process that ended, and tells a death at the armed crash point (or by its own kill) from one the
/// run did not cause, which is a violation. While a process restarts the order workers wait.
/// </summary>
internal sealed class FaultWatcher(ChaosEnvironment environment, RunPlan plan)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _unexpected = [];
    private readonly HashSet<ChaosProcess> _givenUp = [];
    private TaskCompletionSource _allRunning = Completed();
    private Task? _loop;
    private bool _killed;
    private int _ordersStarted;

    /// <summary>True once the fault struck: the target died at its crash point, or was killed at its moment.</summary>
    public bool Fired { get; private set; }

    /// <summary>Deaths the run did not cause, with what the process said last.</summary>
    public IReadOnlyList<string> Unexpected => _unexpected;

    /// <summary>Completes when every process runs (at once, unless one is being restarted).</summary>
    public Task AllRunning => Volatile.Read(ref _allRunning).Task;

    /// <summary>The load tells each order it starts: a random kill strikes once the planned one started.</summary>
    public void OrderStarted() => Interlocked.Increment(ref _ordersStarted);

    /// <summary>Starts watching.</summary>
    public void Start() => _loop = Task.Run(() => WatchAsync(_stop.Token));

    /// <summary>Stops watching (a restart under way finishes first).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    private async Task WatchAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (plan.Fault.IsRandomKill && !_killed && Volatile.Read(ref _ordersStarted) >= plan.KillAtOrder)
            {
                _killed = true;
                environment.Processes.First(p => p.Target == plan.Target).Kill();
            }
            foreach (var process in environment.Processes.Where(p => p.HasExited && !_givenUp.Contains(p)).ToList())
            {
                process.Kill(); // on an ended process: waits until its last output lines are read
                var expected = process.Target == plan.Target && (plan.Fault.IsRandomKill ? _killed : process.DiedAtCrashPoint) && !Fired;
                if (expected)
                {
                    Fired = true;
                }
                else
                {
                    _unexpected.Add($"{process.Name} (pid {process.ProcessId}) exited by itself. Its last output:\n{Tail(process.Output)}");
                }
                await RestartAsync(process);
            }
            try
            {
                await Task.Delay(PollInterval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RestartAsync(ChaosProcess process)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _allRunning, gate);
        try
        {
            await process.RestartAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            _unexpected.Add($"{process.Name} did not start again: {ex.Message}");
            _givenUp.Add(process);
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    private static string Tail(string output) => string.Join('\n', output.Split('\n').TakeLast(25));

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }
}
