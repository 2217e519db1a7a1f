using AtProxy.Demo.Hosting;
using AtProxy.Hosting;

namespace AtProxy.Demo.Chaos;

/// <summary>
/// One process of a run as the fault watcher sees it: a service or a coordinator that can die, be
/// killed and be started again (without the crash point it was started with).
/// </summary>
internal sealed class ChaosProcess
{
    private readonly Func<bool> _hasExited;
    private readonly Func<string> _output;
    private readonly Func<int> _processId;
    private readonly Action _kill;
    private readonly Func<CancellationToken, Task> _restart;

    private ChaosProcess(string name, FaultTarget? target, Func<bool> hasExited, Func<string> output, Func<int> processId, Action kill, Func<CancellationToken, Task> restart)
    {
        Name = name;
        Target = target;
        _hasExited = hasExited;
        _output = output;
        _processId = processId;
        _kill = kill;
        _restart = restart;
        ProcessId = processId();
    }

    /// <summary>E.g. "inventory service" or "coordinator tc-2".</summary>
    public string Name { get; }

    /// <summary>The fault target it stands for; null for a coordinator no fault aims at.</summary>
    public FaultTarget? Target { get; }

    /// <summary>The OS process id of the instance last seen running.</summary>
    public int ProcessId { get; private set; }

    public bool HasExited => _hasExited();

    /// <summary>The process's recent output (where a crash point says it fired).</summary>
    public string Output => _output();

    /// <summary>True when the instance that ended said it killed itself at its crash point.</summary>
    public bool DiedAtCrashPoint => Output.Contains($"killing process {ProcessId} at ", StringComparison.Ordinal);

    public void Kill() => _kill();

    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await _restart(cancellationToken);
        ProcessId = _processId();
    }

    public static ChaosProcess Of(ServiceProcess service, FaultTarget target) =>
        new(service.Name, target, () => service.HasExited, () => service.OutputTail, () => service.ProcessId, service.Kill, service.RestartAsync);

    /// <param name="coordinator">The coordinator.</param>
    /// <param name="name">What to call it.</param>
    /// <param name="isTarget">Whether coordinator faults aim at it.</param>
    /// <param name="options">Its options: the crash point is removed from them before a restart.</param>
    public static ChaosProcess Of(CoordinatorServer coordinator, string name, bool isTarget, CoordinatorServerOptions options) =>
        new(name, isTarget ? FaultTarget.Coordinator : null, () => !coordinator.IsRunning, () => coordinator.Output, () => coordinator.ProcessId, coordinator.Kill,
            cancellationToken =>
            {
                options.Environment.Remove(ChaosEnvironment.CrashVariable);
                return coordinator.RestartAsync(cancellationToken);
            });
}
